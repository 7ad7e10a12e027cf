//! The `callscreen` dialplan application entry point.

use std::ffi::c_char;
use std::time::SystemTime;

use super::bindings as sys;
use super::cstr::{self, to_host};
use super::guard::guard;
use super::log::{log, Level};
use super::module::service;
use super::session::Session;
use crate::engine::CallFacts;
use crate::screening::{plan_call, AppArgs};

/// Called by FreeSWITCH for `<action application="callscreen" data="…"/>`.
pub unsafe extern "C" fn callscreen_app(
    session: *mut sys::switch_core_session_t,
    data: *const c_char,
) {
    guard("callscreen application", (), || {
        // SAFETY: FreeSWITCH passes the executing session, alive for the
        // whole callback, and a NULL or NUL-terminated data string.
        let (session, data) = unsafe { (Session::from_raw(session), cstr::from_host(data)) };
        let Some(session) = session else {
            log(
                None,
                Level::Error,
                format_args!("callscreen: called without a session"),
            );
            return;
        };
        screen(&session, data.as_deref().unwrap_or(""));
    })
}

fn screen(session: &Session, data: &str) {
    let Some(service) = service() else {
        log(
            Some(session),
            Level::Error,
            format_args!("callscreen: module is not loaded"),
        );
        return;
    };
    if !session.ready() {
        log(
            Some(session),
            Level::Debug,
            format_args!("callscreen: channel already hung up; nothing to screen"),
        );
        return;
    }
    let (args, unknown) = AppArgs::parse(data);
    for word in unknown {
        log(
            Some(session),
            Level::Warning,
            format_args!(
                "callscreen: ignoring unknown argument {word:?} (syntax: [advise] [profile=NAME])"
            ),
        );
    }
    let caller_number = session.variable(c"caller_id_number");
    let caller_name = session.variable(c"caller_id_name");
    let destination = session.variable(c"destination_number");
    let network_addr = session.variable(c"network_addr");
    // Only the variables some rule tests are read from the channel.
    let wanted: Vec<String> = service
        .engine()
        .map(|e| e.variable_names().to_vec())
        .unwrap_or_default();
    let values: Vec<(String, String)> = wanted
        .into_iter()
        .filter_map(|name| {
            let value = session.variable(&to_host(&name))?;
            Some((name, value.into_owned()))
        })
        .collect();
    let variables: Vec<(&str, &str)> = values
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let facts = CallFacts {
        caller_number: caller_number.as_deref().unwrap_or(""),
        caller_name: caller_name.as_deref().unwrap_or(""),
        destination: destination.as_deref().unwrap_or(""),
        network_addr: network_addr.as_deref().unwrap_or(""),
        profile: args.profile.as_deref().unwrap_or(""),
        variables: &variables,
    };
    let plan = plan_call(&service, &facts, &args, SystemTime::now());
    for (name, value) in &plan.variables {
        session.set_variable(name, value);
    }
    let level = if plan.hangup.is_some() {
        Level::Notice
    } else {
        Level::Info
    };
    log(
        Some(session),
        level,
        format_args!("callscreen: {}", plan.summary),
    );
    if let Some(cause) = plan.hangup {
        session.hangup(cause);
    }
}
