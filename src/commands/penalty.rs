//! `penalty list [<limit>]` and `penalty clear <key>|all`: the rate limits'
//! penalty box from fs_cli, in text and in JSON.

use std::fmt::Write as _;
use std::time::SystemTime;

use serde_json::json;

use super::json::Answer;
use super::{at, plural, Service};
use crate::config::duration::Seconds;
use crate::limits::unix_seconds;
use crate::service::Persisted;

/// `penalty list [<limit>]`: the keys in the box, with until when.
pub(super) fn list(service: &Service, limit: Option<&str>) -> Answer {
    let now = unix_seconds(SystemTime::now());
    let entries = service.limits().penalties(now, limit);
    let mut text = format!(
        "+OK {} {} in the penalty box\n",
        entries.len(),
        plural(entries.len(), "key", "keys")
    );
    for e in &entries {
        let _ = writeln!(
            text,
            "{} {} until {} ({} left) offence {}{}",
            e.limit,
            e.key,
            at(e.penalty.until),
            Seconds(e.penalty.until.saturating_sub(now)),
            e.penalty.offences,
            if e.shadow { " [shadow]" } else { "" }
        );
    }
    let keys: Vec<_> = entries
        .iter()
        .map(|e| {
            json!({"limit": e.limit, "key": e.key, "digits": e.digits,
                   "until": at(e.penalty.until),
                   "seconds_left": e.penalty.until.saturating_sub(now),
                   "offence": e.penalty.offences, "shadow": e.shadow})
        })
        .collect();
    Answer::ok(text, json!({"limit": limit, "keys": keys}))
}

/// `penalty clear <key>|all`: lifts penalties, forgets the remembered
/// offences of released keys, and saves the limit state. Lifted but not
/// saved is a failure (`-ERR`, `"ok": false`): a restart may bring the
/// penalty back.
pub(super) fn clear(service: &Service, key: Option<&str>) -> Answer {
    let (cleared, persisted) = service.clear_penalties(key, SystemTime::now());
    if let (true, Some(key)) = (cleared.is_empty(), key) {
        return Answer::err(format!(
            "no key {key} in the penalty box or with a remembered offence"
        ));
    }
    let of = key.map(|k| format!(" of {k}")).unwrap_or_default();
    let (lifted, forgotten) = (cleared.lifted, cleared.forgotten);
    let mut parts = Vec::new();
    if lifted > 0 || forgotten == 0 {
        parts.push(format!(
            "lifted {lifted} {}{of}",
            plural(lifted, "penalty", "penalties")
        ));
    }
    if forgotten > 0 {
        parts.push(format!(
            "forgot {forgotten} remembered {}{} (released: the next trip is a first offence)",
            plural(forgotten, "offence", "offences"),
            if lifted > 0 { "" } else { of.as_str() }
        ));
    }
    let what = parts.join("; ");
    let fields = json!({"lifted": lifted, "forgotten": forgotten, "key": key});
    match persisted {
        Persisted::Saved => Answer::ok(
            format!("+OK {what}\n"),
            with(fields, json!({"saved": true})),
        ),
        Persisted::MemoryOnly => Answer::ok(
            format!("+OK {what} (memory only: no state directory, a restart brings it back)\n"),
            with(
                fields,
                json!({"saved": false, "note": "memory only: no state directory, a restart brings it back"}),
            ),
        ),
        Persisted::Failed(why) => {
            let message = format!(
                "{what} in memory, but saving the limit state failed ({why}): a restart may bring it back"
            );
            Answer::failed(
                format!("-ERR {message}\n"),
                with(fields, json!({"saved": false, "error": message})),
            )
        }
    }
}

/// `base` with the fields of `more` added.
fn with(mut base: serde_json::Value, more: serde_json::Value) -> serde_json::Value {
    if let (Some(b), serde_json::Value::Object(m)) = (base.as_object_mut(), more) {
        b.extend(m);
    }
    base
}
