//! Host-wide facilities: global variables and console completion.

use std::ffi::c_void;

use super::cstr;
use super::host_api;

/// A FreeSWITCH global variable (`$${name}`), if set.
pub fn global_variable(name: &str) -> Option<String> {
    let get = host_api::get()?.switch_core_get_variable_dup?;
    let name = cstr::to_host(name);
    // SAFETY: NUL-terminated name; the host returns NULL or a malloc'd copy
    // that we own and release with free().
    unsafe {
        let value = get(name.as_ptr());
        let text = cstr::from_host(value).map(|v| v.into_owned());
        if !value.is_null() {
            libc::free(value.cast::<c_void>());
        }
        text
    }
}

/// Adds or removes fs_cli tab completion (`add callscreen status`, `del callscreen`).
pub fn set_completion(line: &str) {
    let Some(set_complete) = host_api::get().and_then(|api| api.switch_console_set_complete) else {
        return;
    };
    let line = cstr::to_host(line);
    // SAFETY: NUL-terminated string the host copies.
    unsafe {
        set_complete(line.as_ptr());
    }
}
