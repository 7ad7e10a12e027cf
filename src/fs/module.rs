//! The module table FreeSWITCH looks up after dlopen, and load/shutdown.
//!
//! All global state is one `Option<Arc<Service>>` set in load and taken in
//! shutdown, so a second `load` after `unload` starts from scratch even though
//! the library stays mapped (it is linked with `-z nodelete`, see build.rs).

use std::ffi::c_char;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

use super::bindings as sys;
use super::guard::{catch, fault_point, guard};
use super::host;
use super::host_api;
use super::log::{log, Level};
use super::stack::on_large_stack;
use super::{api, app, events};
use crate::commands::COMPLETIONS;
use crate::config::LoadOptions;
use crate::ops::StartOptions;
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
const APP_LONG: &[u8] = b"Decides whether the caller gets through. Sets callscreen_verdict, callscreen_rule, callscreen_reason, callscreen_reply and callscreen_caller (and callscreen_limit, callscreen_limit_key, callscreen_limit_counters... when a rate limit refused the call); a blocked caller gets the rule's reply (reject with a cause, busy tone, SIT tones, message, ringout, transfer/voicemail, or a press-a-digit challenge that lets a person through); an allowed call continues untouched. With 'advise' only the variables are set.\0";
const APP_SYNTAX: &[u8] = b"[advise] [profile=NAME]\0";
const API_DESC: &[u8] =
    b"callscreen: status, reload, check, block/allow at runtime, list, stats, metrics, report\0";
const API_SYNTAX: &[u8] = b"[json] status | reload | check [--profile NAME] [--var NAME=VALUE]... [--name CALLER_NAME] [--time TIME] <caller> [<destination>] | block|allow <pattern> [<ttl>] [<note>] | unblock|unallow <pattern> | list [block|allow|penalty] [<filter>] | penalty list [<limit>] | penalty clear <key>|all | stats [reset] | metrics | report [--since <date|7d>] [--caller <pattern>] [--format text|csv|json]\0";

fn c(text: &'static [u8]) -> *const c_char {
    text.as_ptr().cast()
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

/// Where runtime state lives unless the YAML says otherwise:
/// `$${db_dir}/callscreen`, else `$${storage_dir}/callscreen`.
fn default_state_dir() -> Option<PathBuf> {
    ["db_dir", "storage_dir"]
        .into_iter()
        .filter_map(host::global_variable)
        .find(|d| !d.is_empty())
        .map(|d| PathBuf::from(d).join("callscreen"))
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
        fault_point("load");
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
        let options = StartOptions {
            default_state_dir: default_state_dir(),
            logger: Some(Arc::new(events::FsLog)),
            events: Some(Arc::new(events::FsEvents)),
            // $${name} in audio paths: FreeSWITCH's own global variables, read
            // at load and at every reload.
            load: LoadOptions::with_globals(Arc::new(host::global_variable)),
            reply_seed: None,
        };
        // Reading the config needs more stack than the thread FreeSWITCH
        // loads modules on may have (`load` from fs_cli runs on a command
        // thread of 240 KiB).
        let started = on_large_stack("callscreen-load", || Service::start_with(&path, options));
        let (service, result) = match started {
            Ok(started) => started,
            Err(err) => {
                log(
                    None,
                    Level::Crit,
                    format_args!("mod_callscreen: not loaded: reading the config failed: {err}"),
                );
                return sys::SWITCH_STATUS_GENERR;
            }
        };
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
                    "mod_callscreen: no state directory (state.dir in the YAML, or $${{db_dir}}): limit counters and penalties are kept in memory only"
                ),
            ),
        }
        match result {
            Ok(s) => {
                log(
                    None,
                    Level::Info,
                    format_args!(
                        "mod_callscreen: loaded {}: {} rules, {} lists, {} entries",
                        path.display(),
                        s.rules,
                        s.lists,
                        s.entries
                    ),
                );
                for note in &s.notes {
                    log(None, Level::Warning, format_args!("mod_callscreen: {note}"));
                }
            }
            Err(err) => log(
                None,
                Level::Crit,
                format_args!(
                    "mod_callscreen: no usable config ({err}); calls pass with callscreen_verdict=error until 'callscreen reload' succeeds"
                ),
            ),
        }
        let service = Arc::new(service);
        // Threads: the ledger writer and the limit-state saver (started above,
        // by the service) and the background thread (reloadxml, file
        // watching, expiry); shutdown joins each.
        if let Err(e) = service.start_background() {
            log(
                None,
                Level::Error,
                format_args!("mod_callscreen: cannot start the background thread: {e}; expired entries are swept only when listed, reloadxml is ignored"),
            );
        }
        *SERVICE.write().unwrap_or_else(|p| p.into_inner()) = Some(service);
        events::start();
        sys::SWITCH_STATUS_SUCCESS
    })
}

unsafe extern "C" fn callscreen_shutdown() -> sys::switch_status_t {
    guard("shutdown", sys::SWITCH_STATUS_GENERR, || {
        // Each step runs on its own, so that a panic in one still lets the
        // others unbind, stop and join what load started.
        let steps = [
            catch(|| {
                fault_point("shutdown");
                host::set_completion("del callscreen");
            }),
            // No more reloadxml requests, then stop and join every thread.
            catch(events::stop),
            catch(|| {
                let service = SERVICE.write().unwrap_or_else(|p| p.into_inner()).take();
                if let Some(service) = &service {
                    service.shutdown();
                }
            }),
        ];
        let mut status = sys::SWITCH_STATUS_SUCCESS;
        for panic in steps.into_iter().filter_map(Result::err) {
            log(
                None,
                Level::Crit,
                format_args!("mod_callscreen: panic in shutdown: {panic}; the other teardown steps still ran"),
            );
            status = sys::SWITCH_STATUS_GENERR;
        }
        log(None, Level::Info, format_args!("mod_callscreen: shut down"));
        status
    })
}
