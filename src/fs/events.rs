//! FreeSWITCH events: firing `callscreen::verdict` / `callscreen::penalty`
//! (`CUSTOM` events, queued by the core, so firing from a call's thread is
//! cheap), reserving those subclasses, and the `RELOADXML` binding that
//! reloads the YAML when the administrator runs `reloadxml`.

use std::ffi::CStr;
use std::ptr;
use std::sync::Mutex;

use super::bindings as sys;
use super::cstr;
use super::guard::guard;
use super::host_api;
use super::log::{log, Level};
use super::module::service;
use crate::events::{EventSink, PENALTY_SUBCLASS, VERDICT_SUBCLASS};
use crate::ops::{LogLevel, LogSink};

const FILE: &CStr = c"mod_callscreen.rs";
const FUNC: &CStr = c"callscreen";
const OWNER: &CStr = c"mod_callscreen";
const SUBCLASSES: [&CStr; 2] = [c"callscreen::verdict", c"callscreen::penalty"];

/// The RELOADXML binding, held between load and shutdown.
struct Node(*mut sys::switch_event_node_t);

// SAFETY: the node is an opaque handle only passed back to the host's
// switch_event_unbind, which locks internally; it is never dereferenced here.
unsafe impl Send for Node {}

static RELOADXML_NODE: Mutex<Option<Node>> = Mutex::new(None);

fn subclass_c(subclass: &str) -> Option<&'static CStr> {
    match subclass {
        VERDICT_SUBCLASS => Some(SUBCLASSES[0]),
        PENALTY_SUBCLASS => Some(SUBCLASSES[1]),
        _ => None,
    }
}

/// Fires events through FreeSWITCH's event system.
pub struct FsEvents;

impl EventSink for FsEvents {
    fn fire(&self, subclass: &'static str, headers: &[(&'static str, String)]) {
        let Some(api) = host_api::get() else { return };
        let (Some(create), Some(add), Some(fire), Some(destroy)) = (
            api.switch_event_create_subclass_detailed,
            api.switch_event_add_header_string,
            api.switch_event_fire_detailed,
            api.switch_event_destroy,
        ) else {
            return;
        };
        let Some(sub) = subclass_c(subclass) else {
            return;
        };
        let mut event: *mut sys::switch_event_t = ptr::null_mut();
        // SAFETY: constant NUL-terminated strings; `event` is an out-pointer
        // the host fills with a new event we then own until fired.
        let status = unsafe {
            create(
                FILE.as_ptr(),
                FUNC.as_ptr(),
                0,
                &mut event,
                sys::SWITCH_EVENT_CUSTOM,
                sub.as_ptr(),
            )
        };
        if status != sys::SWITCH_STATUS_SUCCESS || event.is_null() {
            return;
        }
        for (name, value) in headers {
            let name = cstr::to_host(name);
            let value = cstr::to_host(value);
            // SAFETY: `event` is ours; the host copies both strings.
            unsafe {
                add(
                    event,
                    sys::SWITCH_STACK_BOTTOM,
                    name.as_ptr(),
                    value.as_ptr(),
                );
            }
        }
        // SAFETY: firing hands the event to the host (it sets `event` to NULL);
        // if it refuses, the event is still ours and is destroyed.
        unsafe {
            if fire(FILE.as_ptr(), FUNC.as_ptr(), 0, &mut event, ptr::null_mut())
                != sys::SWITCH_STATUS_SUCCESS
                && !event.is_null()
            {
                destroy(&mut event);
            }
        }
    }
}

/// Sends the service's messages to FreeSWITCH's log.
pub struct FsLog;

impl LogSink for FsLog {
    fn log(&self, level: LogLevel, message: &str) {
        let level = match level {
            LogLevel::Info => Level::Info,
            LogLevel::Notice => Level::Notice,
            LogLevel::Warning => Level::Warning,
            LogLevel::Error => Level::Error,
        };
        log(None, level, format_args!("{message}"));
    }
}

unsafe extern "C" fn on_reloadxml(_event: *mut sys::switch_event_t) {
    guard("reloadxml handler", (), || {
        // The reload itself runs on the module's background thread, not on
        // the core's event dispatch thread.
        if let Some(service) = service() {
            service.request_reload("reloadxml");
        }
    })
}

/// Reserves the event subclasses and binds to RELOADXML (module load).
pub fn start() {
    let Some(api) = host_api::get() else { return };
    if let Some(reserve) = api.switch_event_reserve_subclass_detailed {
        for sub in SUBCLASSES {
            // SAFETY: constant NUL-terminated strings the host copies.
            if unsafe { reserve(OWNER.as_ptr(), sub.as_ptr()) } != sys::SWITCH_STATUS_SUCCESS {
                log(
                    None,
                    Level::Debug,
                    format_args!("mod_callscreen: event subclass {sub:?} already reserved"),
                );
            }
        }
    }
    let Some(bind) = api.switch_event_bind_removable else {
        return;
    };
    let mut node: *mut sys::switch_event_node_t = ptr::null_mut();
    // SAFETY: constant id string; `on_reloadxml` lives as long as the
    // process (the library is never unmapped, see build.rs); `node` is an
    // out-pointer the host fills.
    let status = unsafe {
        bind(
            OWNER.as_ptr(),
            sys::SWITCH_EVENT_RELOADXML,
            ptr::null(),
            Some(on_reloadxml),
            ptr::null_mut(),
            &mut node,
        )
    };
    if status == sys::SWITCH_STATUS_SUCCESS && !node.is_null() {
        *RELOADXML_NODE.lock().unwrap_or_else(|p| p.into_inner()) = Some(Node(node));
    } else {
        log(
            None,
            Level::Warning,
            format_args!(
                "mod_callscreen: cannot bind to RELOADXML; reloadxml will not reload the YAML"
            ),
        );
    }
}

/// Unbinds RELOADXML and frees the subclasses (module shutdown).
pub fn stop() {
    let Some(api) = host_api::get() else { return };
    let node = RELOADXML_NODE
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .take();
    if let (Some(Node(mut node)), Some(unbind)) = (node, api.switch_event_unbind) {
        // SAFETY: the node came from switch_event_bind_removable and is
        // unbound exactly once.
        unsafe {
            unbind(&mut node);
        }
    }
    if let Some(free) = api.switch_event_free_subclass_detailed {
        for sub in SUBCLASSES {
            // SAFETY: constant NUL-terminated strings.
            unsafe {
                free(OWNER.as_ptr(), sub.as_ptr());
            }
        }
    }
}
