//! The `callscreen` API command entry point (fs_cli, ESL `api`).

use std::ffi::c_char;

use super::bindings as sys;
use super::cstr;
use super::guard::{fault_point, guard};
use super::log::{log, Level};
use super::module::service;
use super::stack::{on_large_stack, WorkerError};
use super::stream::Stream;
use crate::commands;

/// Called by FreeSWITCH for `callscreen <args>`; `cmd` and `session` may be NULL.
pub unsafe extern "C" fn callscreen_api(
    cmd: *const c_char,
    _session: *mut sys::switch_core_session_t,
    stream: *mut sys::switch_stream_handle_t,
) -> sys::switch_status_t {
    guard("callscreen API", sys::SWITCH_STATUS_GENERR, || {
        // SAFETY: the host passes a NULL or NUL-terminated command line and a
        // stream valid for this call.
        let (line, stream) = unsafe { (cstr::from_host(cmd), Stream::from_raw(stream)) };
        let Some(mut stream) = stream else {
            return sys::SWITCH_STATUS_GENERR;
        };
        // Commands read configs (reload, check): off FreeSWITCH's small stack.
        let line = line.as_deref();
        let answer = on_large_stack("callscreen-api", || {
            fault_point("api");
            match service() {
                Some(service) => commands::run(&service, line),
                None => "-ERR mod_callscreen is not loaded\n".to_string(),
            }
        });
        match answer {
            Ok(text) => {
                stream.write(&text);
                sys::SWITCH_STATUS_SUCCESS
            }
            Err(WorkerError::Panicked(panic)) => {
                log(
                    None,
                    Level::Crit,
                    format_args!("mod_callscreen: panic in callscreen API: {panic}"),
                );
                stream.write("-ERR internal error in mod_callscreen (see the log)\n");
                sys::SWITCH_STATUS_GENERR
            }
            Err(err @ WorkerError::NoThread(_)) => {
                stream.write(&format!("-ERR {err}\n"));
                sys::SWITCH_STATUS_GENERR
            }
        }
    })
}
