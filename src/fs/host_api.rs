//! The FreeSWITCH functions the module calls, resolved at load time with
//! `dlsym(RTLD_DEFAULT, …)` instead of being linked.
//!
//! Linking them would leave undefined symbols in every executable that uses
//! the crate (the engine's tests, the CLI); resolving them at load keeps those
//! free of FreeSWITCH, and a host that lacks a function fails `load` with its
//! name instead of crashing. FreeSWITCH's functions do not move while the
//! process lives, so the table is resolved once per process.

use std::ffi::c_void;
use std::sync::OnceLock;

use super::bindings as sys;

static API: OnceLock<HostApi> = OnceLock::new();

macro_rules! host_api {
    ($($name:ident: $ty:ident),* $(,)?) => {
        /// Pointers to the host functions, each typed from our declarations.
        pub struct HostApi {
            $(
                #[doc = concat!("`", stringify!($name), "`")]
                pub $name: sys::$ty,
            )*
        }

        impl HostApi {
            fn resolve() -> Result<HostApi, Vec<&'static str>> {
                let mut missing = Vec::new();
                let api = HostApi {
                    $($name: {
                        // SAFETY: the name is a NUL-terminated literal; dlsym
                        // only looks it up in the process's global scope.
                        let ptr = unsafe {
                            libc::dlsym(libc::RTLD_DEFAULT, concat!(stringify!($name), "\0").as_ptr().cast())
                        };
                        // SAFETY: `Option<extern "C" fn>` has the size of a
                        // pointer, NULL is `None`; a non-NULL address is the
                        // host function, whose prototype build.rs checks
                        // against our declaration wherever headers exist.
                        let f = unsafe { std::mem::transmute::<*mut c_void, sys::$ty>(ptr) };
                        if f.is_none() {
                            missing.push(stringify!($name));
                        }
                        f
                    },)*
                };
                if missing.is_empty() { Ok(api) } else { Err(missing) }
            }
        }
    };
}

host_api! {
    switch_loadable_module_create_module_interface: switch_loadable_module_create_module_interface_fn,
    switch_loadable_module_create_interface: switch_loadable_module_create_interface_fn,
    switch_console_set_complete: switch_console_set_complete_fn,
    switch_core_get_variable_dup: switch_core_get_variable_dup_fn,
    switch_log_printf: switch_log_printf_fn,
    switch_core_session_get_channel: switch_core_session_get_channel_fn,
    switch_channel_get_variable_dup: switch_channel_get_variable_dup_fn,
    switch_channel_set_variable_var_check: switch_channel_set_variable_var_check_fn,
    switch_channel_str2cause: switch_channel_str2cause_fn,
    switch_channel_perform_hangup: switch_channel_perform_hangup_fn,
    switch_channel_test_ready: switch_channel_test_ready_fn,
    switch_core_session_execute_application_get_flags: switch_core_session_execute_application_get_flags_fn,
    switch_event_create_subclass_detailed: switch_event_create_subclass_detailed_fn,
    switch_event_add_header_string: switch_event_add_header_string_fn,
    switch_event_fire_detailed: switch_event_fire_detailed_fn,
    switch_event_destroy: switch_event_destroy_fn,
    switch_event_reserve_subclass_detailed: switch_event_reserve_subclass_detailed_fn,
    switch_event_free_subclass_detailed: switch_event_free_subclass_detailed_fn,
    switch_event_bind_removable: switch_event_bind_removable_fn,
    switch_event_unbind: switch_event_unbind_fn,
}

/// Resolves the table (once per process); the names of missing functions
/// otherwise.
pub fn init() -> Result<&'static HostApi, String> {
    if let Some(api) = API.get() {
        return Ok(api);
    }
    let api = HostApi::resolve().map_err(|missing| missing.join(", "))?;
    Ok(API.get_or_init(|| api))
}

/// The resolved table, once `init` has succeeded.
pub fn get() -> Option<&'static HostApi> {
    API.get()
}
