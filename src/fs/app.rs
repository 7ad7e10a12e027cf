//! The `callscreen` dialplan application entry point.

use std::ffi::c_char;
use std::time::SystemTime;

use super::bindings as sys;
use super::cstr::{self, to_host};
use super::guard::{fault_point, guard};
use super::log::{log, Level};
use super::module::service;
use super::session::Session;
use crate::engine::{CallEvidence, CallFacts};
use crate::replies::perform::{perform, CallHost};
use crate::screening::{challenge_passed, plan_call, AppArgs};

/// Called by FreeSWITCH for `<action application="callscreen" data="…"/>`.
pub unsafe extern "C" fn callscreen_app(
    session: *mut sys::switch_core_session_t,
    data: *const c_char,
) {
    guard("callscreen application", (), || {
        fault_point("app");
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
    // Evidence for the ledger and the verdict event: never matched by rules.
    let uuid = session.variable(c"uuid");
    let sip_call_id = session.variable(c"sip_call_id");
    let user_agent = session.variable(c"sip_user_agent");
    let pai = session
        .variable(c"sip_P-Asserted-Identity")
        .or_else(|| session.variable(c"sip_h_P-Asserted-Identity"));
    let verstat = session.variable(c"sip_verstat");
    let sip_profile = session.variable(c"sip_profile_name");

    let facts = CallFacts {
        caller_number: caller_number.as_deref().unwrap_or(""),
        caller_name: caller_name.as_deref().unwrap_or(""),
        destination: destination.as_deref().unwrap_or(""),
        network_addr: network_addr.as_deref().unwrap_or(""),
        profile: args.profile.as_deref().unwrap_or(""),
        variables: &variables,
        evidence: CallEvidence {
            uuid: uuid.as_deref().unwrap_or(""),
            sip_call_id: sip_call_id.as_deref().unwrap_or(""),
            user_agent: user_agent.as_deref().unwrap_or(""),
            p_asserted_identity: pai.as_deref().unwrap_or(""),
            verstat: verstat.as_deref().unwrap_or(""),
            sip_profile: sip_profile.as_deref().unwrap_or(""),
        },
    };
    let plan = plan_call(&service, &facts, &args, SystemTime::now());
    for (name, value) in &plan.variables {
        session.set_variable(name, value);
    }
    let level = if plan.steps.is_empty() {
        Level::Info
    } else {
        Level::Notice
    };
    log(
        Some(session),
        level,
        format_args!("callscreen: {}", plan.summary),
    );
    if plan.steps.is_empty() {
        return;
    }
    let done = perform(session, &plan.steps, &mut |challenge| {
        challenge_passed(&service, challenge, SystemTime::now())
    });
    // Off the decision: the call has been waiting for the caller anyway.
    if let Some(first) = &plan.challenge_evidence {
        let (passed, digits) = match &done.challenge {
            Some(c) => (
                c.passed,
                c.pressed.as_deref().or(c.invalid.as_deref()).unwrap_or(""),
            ),
            None => (false, ""),
        };
        service.record_challenge(first, passed, digits, SystemTime::now());
    }
    for app in &done.failed_apps {
        log(
            Some(session),
            Level::Warning,
            format_args!("callscreen: FreeSWITCH could not run {app} (is its module loaded?)"),
        );
    }
    if let Some(c) = &done.challenge {
        log(
            Some(session),
            Level::Notice,
            format_args!(
                "callscreen: challenge {} (pressed {})",
                if c.passed {
                    "passed: call continues"
                } else {
                    "failed: fallback reply"
                },
                c.pressed
                    .as_deref()
                    .or(c.invalid.as_deref())
                    .unwrap_or("nothing")
            ),
        );
    }
    if done.caller_left {
        log(
            Some(session),
            Level::Info,
            format_args!("callscreen: caller hung up during the reply"),
        );
    }
}

impl CallHost for Session {
    fn ready(&self) -> bool {
        Session::ready(self)
    }

    fn execute(&self, app: &str, arg: &str) -> bool {
        Session::execute(self, app, arg)
    }

    fn set_variable(&self, name: &str, value: &str) {
        Session::set_variable(self, name, value)
    }

    fn variable(&self, name: &str) -> Option<String> {
        let name = super::cstr::to_host(name);
        Session::variable(self, &name).map(|v| v.into_owned())
    }

    fn hangup(&self, cause: &str) {
        Session::hangup(self, cause)
    }
}
