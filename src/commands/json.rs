//! The `json` output option: every command's answer as one JSON object with
//! `"ok": true|false`, for scripts.

use serde_json::{json, Value};

use super::{ApiCommand, Service};
use crate::check_args::CheckRequest;
use crate::engine::{CallFacts, ProfileChoice};
use crate::ledger::counters_of;
use crate::limits::LimitHit;
use crate::report::Format;
use crate::timefmt::iso8601_utc;

/// An answer in both forms.
pub(super) struct Answer {
    pub(super) ok: bool,
    pub(super) text: String,
    pub(super) json: Value,
}

impl Answer {
    /// A success: text (after `+OK`) and the JSON fields.
    pub(super) fn ok(text: String, mut fields: Value) -> Answer {
        if let Some(map) = fields.as_object_mut() {
            map.insert("ok".into(), Value::Bool(true));
        }
        Answer {
            ok: true,
            text,
            json: fields,
        }
    }

    /// A failure that still has fields to report (`text` starts with
    /// `-ERR`; `fields` should carry an `error`).
    pub(super) fn failed(text: String, mut fields: Value) -> Answer {
        if let Some(map) = fields.as_object_mut() {
            map.insert("ok".into(), Value::Bool(false));
        }
        Answer {
            ok: false,
            text,
            json: fields,
        }
    }

    /// A failure with its message (without `-ERR`).
    pub(super) fn err(message: impl Into<String>) -> Answer {
        let message = message.into();
        Answer {
            ok: false,
            json: json!({"ok": false, "error": message}),
            text: format!("-ERR {message}\n"),
        }
    }

    /// The text answer.
    pub(super) fn text(self) -> String {
        self.text
    }

    /// The JSON answer, one line.
    pub(super) fn json(self) -> String {
        debug_assert!(self.ok == self.json["ok"].as_bool().unwrap_or(false));
        format!("{}\n", self.json)
    }
}

/// A usage error as JSON.
pub(super) fn error_with_usage(message: &str, usage: &str) -> String {
    format!(
        "{}\n",
        json!({"ok": false, "error": message, "usage": usage})
    )
}

/// Runs `inner` and answers in JSON.
pub(super) fn execute(service: &Service, inner: &ApiCommand) -> String {
    match inner {
        ApiCommand::Status => super::stats::status_json(service).json(),
        ApiCommand::Reload => match service.reload() {
            Ok(s) => Answer::ok(
                String::new(),
                json!({"config": service.config_path(), "rules": s.rules, "lists": s.lists,
                       "entries": s.entries, "replies": s.replies}),
            )
            .json(),
            Err(e) => Answer::err(e.to_string()).json(),
        },
        ApiCommand::Check(request) => check(service, request).json(),
        ApiCommand::AddEntry {
            list,
            pattern,
            ttl,
            note,
        } => super::entries::add(service, *list, pattern, *ttl, note).json(),
        ApiCommand::RemoveEntry { list, pattern } => {
            super::entries::remove(service, *list, pattern).json()
        }
        ApiCommand::List { kind, filter } => {
            super::entries::list(service, *kind, filter.as_deref()).json()
        }
        ApiCommand::Stats { reset } => super::stats::stats(service, *reset).json(),
        ApiCommand::Metrics => super::stats::metrics_json(service).json(),
        ApiCommand::Report(args) => super::stats::report_as(service, args, Some(Format::Json)),
        ApiCommand::Json(_) => Answer::err("json is given once, before the command").json(),
        ApiCommand::PenaltyList { limit } => super::penalty::list(service, limit.as_deref()).json(),
        ApiCommand::PenaltyClear { key } => super::penalty::clear(service, key.as_deref()).json(),
    }
}

fn check(service: &Service, request: &CheckRequest) -> Answer {
    let Some(engine) = service.engine() else {
        return Answer::err(format!(
            "no config loaded: {}",
            service.last_error().unwrap_or_default()
        ));
    };
    let caller = request.caller.as_str();
    let destination = request.destination.as_deref().unwrap_or("");
    let variables: Vec<(&str, &str)> = request
        .variables
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let facts = CallFacts {
        caller_number: caller,
        caller_name: request.caller_name.as_deref().unwrap_or(""),
        destination,
        profile: request.profile.as_deref().unwrap_or(""),
        variables: &variables,
        ..CallFacts::default()
    };
    let now = request.time.unwrap_or_else(std::time::SystemTime::now);
    let (v, trace) = engine.explain(&facts, now);
    let (_, how) = engine.select_profile(&facts);
    let remembered = engine
        .config()
        .numbering
        .classify(caller)
        .number()
        .and_then(|n| {
            service
                .allow_memory
                .allowed_until(n, std::time::SystemTime::now())
        });
    let trace: Vec<Value> = trace
        .iter()
        .map(|t| json!({"rule": t.rule, "matched": t.matched, "shadow": t.shadow, "detail": t.detail}))
        .collect();
    Answer::ok(
        String::new(),
        json!({
            "verdict": v.action.as_str(),
            "caller": caller,
            "caller_normalised": v.caller.to_string(),
            "destination": destination,
            "destination_normalised": v.destination.to_string(),
            "profile": v.profile,
            "rule": v.rule_name(),
            "shadow_rule": v.shadow.map(|r| r.name.clone()),
            "reason": v.reason.as_str(),
            "reply": v.reply.map(|r| r.name.clone()),
            "reply_kind": v.reply.map(|r| r.kind.to_string()),
            "limit": v.limit.as_ref().map(limit_json),
            "shadow_limit": v.shadow_limit.as_ref().map(limit_json),
            "time": iso8601_utc(now),
            "profile_choice": match how {
                ProfileChoice::Requested => "requested",
                ProfileChoice::Destination => "destination",
                ProfileChoice::Default => "default",
                ProfileChoice::Unknown => "unknown",
            },
            "remembered_until": remembered.map(iso8601_utc),
            "trace": trace,
        }),
    )
}

/// A limit (or shadow limit) that decided, as the `limit:` line of the text
/// `check` shows it: name, key, state and counters (by threshold, and as text).
fn limit_json(hit: &LimitHit<'_>) -> Value {
    json!({
        "name": hit.limit.name,
        "key": hit.key_text().to_string(),
        "state": hit.state.as_str(),
        "counters": counters_of(hit),
        "counters_text": hit.counters_text(),
    })
}
