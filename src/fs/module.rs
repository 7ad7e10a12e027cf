//! The module table FreeSWITCH looks up after dlopen, and load/shutdown.
//!
//! All global state is one `Option<Arc<Service>>` set in load and taken in
//! shutdown, so a second `load` after `unload` starts from scratch even though
//! the library stays mapped (it is linked with `-z nodelete`, see build.rs).

use std::ffi::c_char;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use super::bindings as sys;
use super::guard::guard;
use super::host;
use super::host_api;
use super::log::{log, Level};
use super::{api, app};
use crate::commands::COMPLETIONS;
use crate::service::Service;

/// The table FreeSWITCH reads as `mod_callscreen_module_interface`.
#[no_mangle]
pub static mod_callscreen_module_interface: sys::switch_loadable_module_function_table_t =
    sys::switch_loadable_module_function_table_t {
        switch_api_version: sys::SWITCH_API_VERSION as i32,
        load: Some(callscreen_load),
        shutdown: Some(callscreen_shutdown),
        runtime: None,
        flags: 0,
    };

static SERVICE: RwLock<Option<Arc<Service>>> = RwLock::new(None);

/// The running service, between load and shutdown.
pub fn service() -> Option<Arc<Service>> {
    SERVICE.read().unwrap_or_else(|p| p.into_inner()).clone()
}

const MODULE_NAME: &[u8] = b"mod_callscreen\0";
const APP_NAME: &[u8] = b"callscreen\0";
const APP_SHORT: &[u8] = b"Screen an inbound call against the callscreen rules\0";
const APP_LONG: &[u8] = b"Decides whether the caller gets through. Sets callscreen_verdict, callscreen_rule, callscreen_reason, callscreen_reply and callscreen_caller (and callscreen_limit, callscreen_limit_key, callscreen_limit_counters... when a rate limit refused the call); a blocked caller gets the rule's reply (hang up with a cause); an allowed call continues untouched. With 'advise' only the variables are set.\0";
const APP_SYNTAX: &[u8] = b"[advise]\0";
const API_DESC: &[u8] = b"callscreen: status, reload, check a number\0";
const API_SYNTAX: &[u8] =
    b"status | reload | check <caller> [<destination>] | penalty list [<limit>] | penalty clear <key>|all\0";

fn c(text: &'static [u8]) -> *const c_char {
    text.as_ptr().cast()
}

/// Where limit state is saved: `$${callscreen_state_dir}`, else `$${db_dir}`
/// (FreeSWITCH's directory for persistent state); `None` when neither is set.
fn state_dir() -> Option<PathBuf> {
    ["callscreen_state_dir", "db_dir"]
        .into_iter()
        .find_map(|name| host::global_variable(name).filter(|p| !p.is_empty()))
        .map(PathBuf::from)
}

/// Where the YAML lives: `$${callscreen_config}`, else `$${conf_dir}/callscreen.yaml`.
fn config_path() -> PathBuf {
    if let Some(path) = host::global_variable("callscreen_config").filter(|p| !p.is_empty()) {
        return PathBuf::from(path);
    }
    let conf_dir =
        host::global_variable("conf_dir").unwrap_or_else(|| "/etc/freeswitch".to_string());
    PathBuf::from(conf_dir).join("callscreen.yaml")
}

unsafe extern "C" fn callscreen_load(
    module_interface: *mut *mut sys::switch_loadable_module_interface_t,
    pool: *mut sys::switch_memory_pool_t,
) -> sys::switch_status_t {
    guard("load", sys::SWITCH_STATUS_GENERR, || {
        if module_interface.is_null() {
            return sys::SWITCH_STATUS_GENERR;
        }
        let host = match host_api::init() {
            Ok(host) => host,
            Err(missing) => {
                // Without the host's logger, stderr is all there is.
                eprintln!("mod_callscreen: FreeSWITCH lacks functions the module needs: {missing}");
                return sys::SWITCH_STATUS_GENERR;
            }
        };
        let (Some(create_module), Some(create_interface)) = (
            host.switch_loadable_module_create_module_interface,
            host.switch_loadable_module_create_interface,
        ) else {
            return sys::SWITCH_STATUS_GENERR;
        };
        // SAFETY: the host passes a valid out-pointer and its module pool; the
        // interfaces it returns are zeroed structs of the declared layout that
        // we fill with static strings and our entry points.
        unsafe {
            let mi = create_module(pool, c(MODULE_NAME));
            if mi.is_null() {
                return sys::SWITCH_STATUS_GENERR;
            }
            *module_interface = mi;

            let app = create_interface(mi, sys::SWITCH_APPLICATION_INTERFACE)
                .cast::<sys::switch_application_interface_t>();
            let api = create_interface(mi, sys::SWITCH_API_INTERFACE)
                .cast::<sys::switch_api_interface_t>();
            if app.is_null() || api.is_null() {
                return sys::SWITCH_STATUS_GENERR;
            }
            (*app).interface_name = c(APP_NAME);
            (*app).application_function = Some(app::callscreen_app);
            (*app).short_desc = c(APP_SHORT);
            (*app).long_desc = c(APP_LONG);
            (*app).syntax = c(APP_SYNTAX);
            // Run without media: a rejected caller gets the SIP failure response
            // without the 183 the core would otherwise send first.
            (*app).flags = sys::SAF_SUPPORT_NOMEDIA;

            (*api).interface_name = c(APP_NAME);
            (*api).desc = c(API_DESC);
            (*api).function = Some(api::callscreen_api);
            (*api).syntax = c(API_SYNTAX);
        }
        for line in COMPLETIONS {
            host::set_completion(line);
        }

        let path = config_path();
        let state_dir = state_dir();
        let (service, result) = Service::start_with_state(&path, state_dir.as_deref());
        match (service.state_file(), service.restored()) {
            (Some(file), Ok(keys)) => log(
                None,
                Level::Info,
                format_args!(
                    "mod_callscreen: limit state in {} ({keys} keys restored)",
                    file.display()
                ),
            ),
            (Some(_), Err(err)) => log(
                None,
                Level::Warning,
                format_args!("mod_callscreen: limit state not restored: {err}"),
            ),
            (None, _) => log(
                None,
                Level::Warning,
                format_args!(
                    "mod_callscreen: no callscreen_state_dir or db_dir: limit counters and penalties are kept in memory only"
                ),
            ),
        }
        match result {
            Ok(s) => log(
                None,
                Level::Info,
                format_args!(
                    "mod_callscreen: loaded {}: {} rules, {} lists, {} entries",
                    path.display(),
                    s.rules,
                    s.lists,
                    s.entries
                ),
            ),
            Err(err) => log(
                None,
                Level::Crit,
                format_args!(
                    "mod_callscreen: no usable config ({err}); calls pass with callscreen_verdict=error until 'callscreen reload' succeeds"
                ),
            ),
        }
        *SERVICE.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(service));
        sys::SWITCH_STATUS_SUCCESS
    })
}

unsafe extern "C" fn callscreen_shutdown() -> sys::switch_status_t {
    guard("shutdown", sys::SWITCH_STATUS_GENERR, || {
        host::set_completion("del callscreen");
        let service = SERVICE.write().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(service) = &service {
            // Joins the state-saving thread after a last save.
            if let Err(err) = service.shutdown() {
                log(
                    None,
                    Level::Error,
                    format_args!("mod_callscreen: could not save limit state: {err}"),
                );
            }
        }
        drop(service);
        log(None, Level::Info, format_args!("mod_callscreen: shut down"));
        sys::SWITCH_STATUS_SUCCESS
    })
}
