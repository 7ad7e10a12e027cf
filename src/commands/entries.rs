//! `block`, `allow`, `unblock`, `unallow` and `list`: the runtime lists
//! from fs_cli.

use std::fmt::Write as _;
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

use super::json::Answer;
use super::{ApiCommand, Service, UsageError};
use crate::durations::{format_duration, parse_duration};
use crate::numbers::NumberPlan;
use crate::pattern::Pattern;
use crate::runtime_lists::{RuntimeEntry, RuntimeList};
use crate::timefmt::iso8601_utc;

/// What `list` shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ListKind {
    /// `runtime-block`.
    Block,
    /// `runtime-allow`.
    Allow,
    /// The penalty box.
    Penalty,
}

/// A time to live: a duration (`30m`, `7d`), or `forever` / `0` for none.
pub fn parse_ttl(word: &str) -> Option<Option<Duration>> {
    match word {
        "forever" | "never" | "0" | "-" => Some(None),
        w => parse_duration(w).ok().filter(|d| !d.is_zero()).map(Some),
    }
}

/// Parses the runtime-list and ops commands; `Ok(None)` for the others.
pub(super) fn parse_ops(words: &[&str]) -> Result<Option<ApiCommand>, UsageError> {
    let usage = |m: &str| Err(UsageError(m.to_string()));
    let cmd = match words {
        ["json"] => return usage("json needs a command after it"),
        ["json", rest @ ..] => {
            let inner = super::ApiCommand::parse(Some(&rest.join(" ")))?;
            ApiCommand::Json(Box::new(inner))
        }
        [verb @ ("block" | "allow"), rest @ ..] => {
            let list = if *verb == "block" {
                RuntimeList::Block
            } else {
                RuntimeList::Allow
            };
            let Some((pattern, rest)) = rest.split_first() else {
                return usage(&format!("{verb} needs a number or prefix (e.g. +86170*)"));
            };
            let (ttl, note) = match rest.split_first() {
                Some((word, more)) => match parse_ttl(word) {
                    Some(ttl) => (ttl, more.join(" ")),
                    None => (None, rest.join(" ")),
                },
                None => (None, String::new()),
            };
            ApiCommand::AddEntry {
                list,
                pattern: pattern.to_string(),
                ttl,
                note,
            }
        }
        [verb @ ("unblock" | "unallow"), pattern] => ApiCommand::RemoveEntry {
            list: if *verb == "unblock" {
                RuntimeList::Block
            } else {
                RuntimeList::Allow
            },
            pattern: pattern.to_string(),
        },
        [verb @ ("unblock" | "unallow"), ..] => {
            return usage(&format!("{verb} takes exactly one number or prefix"))
        }
        ["list", rest @ ..] => {
            let (kind, rest) = match rest.first() {
                Some(&"block") => (Some(ListKind::Block), &rest[1..]),
                Some(&"allow") => (Some(ListKind::Allow), &rest[1..]),
                Some(&"penalty") => (Some(ListKind::Penalty), &rest[1..]),
                _ => (None, rest),
            };
            match rest {
                [] => ApiCommand::List { kind, filter: None },
                [f] => ApiCommand::List {
                    kind,
                    filter: Some(f.to_string()),
                },
                _ => return usage("list takes [block|allow|penalty] and one filter word"),
            }
        }
        ["stats"] => ApiCommand::Stats { reset: false },
        ["stats", "reset"] => ApiCommand::Stats { reset: true },
        ["stats", ..] => return usage("stats takes nothing or `reset`"),
        ["metrics"] => ApiCommand::Metrics,
        ["metrics", ..] => return usage("metrics takes no arguments"),
        ["report", rest @ ..] => ApiCommand::Report(rest.iter().map(|s| s.to_string()).collect()),
        _ => return Ok(None),
    };
    Ok(Some(cmd))
}

fn plan(service: &Service) -> NumberPlan {
    service
        .engine()
        .map(|e| e.config().numbering.clone())
        .unwrap_or_default()
}

fn entry_json(e: &RuntimeEntry, now: SystemTime) -> Value {
    json!({
        "list": e.list.name(),
        "pattern": e.pattern.to_string(),
        "added": iso8601_utc(e.added),
        "expires": e.expires.map(iso8601_utc),
        "expires_in_seconds": e.expires.map(|x| x.duration_since(now).map(|d| d.as_secs()).unwrap_or(0)),
        "note": e.note,
    })
}

fn expiry_text(e: &RuntimeEntry, now: SystemTime) -> String {
    match e.expires {
        None => "never".to_string(),
        Some(at) => format!(
            "{} (in {})",
            iso8601_utc(at),
            format_duration(at.duration_since(now).unwrap_or_default())
        ),
    }
}

/// `block|allow <pattern> [ttl] [note]`.
pub(super) fn add(
    service: &Service,
    list: RuntimeList,
    pattern: &str,
    ttl: Option<Duration>,
    note: &str,
) -> Answer {
    let pattern = match Pattern::parse(pattern, &plan(service)) {
        Ok(p) => p,
        Err(e) => return Answer::err(e.to_string()),
    };
    if note.chars().any(char::is_control) {
        return Answer::err("the note must be plain text");
    }
    let now = SystemTime::now();
    let entry = RuntimeEntry {
        list,
        pattern,
        added: now,
        expires: ttl.map(|d| now + d),
        note: note.to_string(),
    };
    let shown = entry.clone();
    let replaced = match service.ops.add_entry(entry, now) {
        Ok(old) => old.is_some(),
        Err(e) => return Answer::err(format!("not saved: {e}")),
    };
    let unused = service.engine().is_some_and(|e| !e.uses_runtime_list(list));
    let (verb, prep) = if replaced {
        ("updated", "in")
    } else {
        ("added", "to")
    };
    let mut text = format!(
        "+OK {verb} {} {prep} {list} (expires {}){}\n",
        shown.pattern,
        expiry_text(&shown, now),
        if shown.note.is_empty() {
            String::new()
        } else {
            format!(", note: {}", shown.note)
        }
    );
    if unused {
        let _ = writeln!(
            text,
            "warning: no rule names {list}, so this entry has no effect; add a rule with `caller_in: {list}`"
        );
    }
    let memory_only = service.ops.store().is_none();
    if memory_only {
        let _ = writeln!(
            text,
            "warning: {}: a restart forgets this entry",
            service.ops.store_note()
        );
    }
    Answer::ok(
        text,
        json!({"action": if replaced {"updated"} else {"added"}, "entry": entry_json(&shown, now),
               "warning": unused.then(|| format!("no rule names {list}")),
               "saved": !memory_only}),
    )
}

/// `unblock|unallow <pattern>`.
pub(super) fn remove(service: &Service, list: RuntimeList, pattern: &str) -> Answer {
    let pattern = match Pattern::parse(pattern, &plan(service)) {
        Ok(p) => p,
        Err(e) => return Answer::err(e.to_string()),
    };
    let now = SystemTime::now();
    match service.ops.remove_entry(list, &pattern, now) {
        Ok(Some(old)) => Answer::ok(
            format!("+OK removed {pattern} from {list}\n"),
            json!({"action": "removed", "entry": entry_json(&old, now)}),
        ),
        Ok(None) => Answer::err(format!("{pattern} is not in {list}")),
        Err(e) => Answer::err(format!("not saved: {e}")),
    }
}

/// `list [block|allow|penalty] [filter]`.
pub(super) fn list(service: &Service, kind: Option<ListKind>, filter: Option<&str>) -> Answer {
    let now = SystemTime::now();
    let wanted =
        |text: &str| filter.map_or(true, |f| text.to_lowercase().contains(&f.to_lowercase()));
    let lists: Vec<RuntimeList> = match kind {
        None => RuntimeList::ALL.to_vec(),
        Some(ListKind::Block) => vec![RuntimeList::Block],
        Some(ListKind::Allow) => vec![RuntimeList::Allow],
        Some(ListKind::Penalty) => vec![],
    };
    let entries: Vec<RuntimeEntry> = lists
        .iter()
        .flat_map(|l| service.ops.runtime.entries(Some(*l), now))
        .filter(|e| wanted(&e.pattern.to_string()) || wanted(&e.note))
        .collect();
    let show_penalty = matches!(kind, None | Some(ListKind::Penalty));
    let penalty_box = service.ops.penalty_box();
    let penalties: Vec<_> = match (&penalty_box, show_penalty) {
        (Some(pb), true) => pb
            .penalties(now)
            .into_iter()
            .filter(|p| wanted(&p.key) || wanted(&p.limit))
            .collect(),
        _ => Vec::new(),
    };

    let mut text = format!("+OK {} entries\n", entries.len() + penalties.len());
    if !entries.is_empty() {
        let w = entries
            .iter()
            .map(|e| e.pattern.to_string().len())
            .max()
            .unwrap_or(0)
            .max("pattern".len());
        let _ = writeln!(
            text,
            "{:<13}  {:<w$}  {:<20}  {:<34}  note",
            "list", "pattern", "added", "expires"
        );
        for e in &entries {
            let _ = writeln!(
                text,
                "{:<13}  {:<w$}  {:<20}  {:<34}  {}",
                e.list.name(),
                e.pattern.to_string(),
                iso8601_utc(e.added),
                expiry_text(e, now),
                e.note
            );
        }
    }
    if show_penalty {
        match &penalty_box {
            None if kind == Some(ListKind::Penalty) => {
                let _ = writeln!(text, "(no penalty box: no limits are configured)");
            }
            None => {}
            Some(_) => {
                for p in &penalties {
                    let _ = writeln!(
                        text,
                        "{:<13}  {}  until {} (in {})  limit {}  strikes {}",
                        "penalty",
                        p.key,
                        iso8601_utc(p.until),
                        format_duration(p.until.duration_since(now).unwrap_or_default()),
                        p.limit,
                        p.strikes
                    );
                }
            }
        }
    }
    let json_entries: Vec<Value> = entries.iter().map(|e| entry_json(e, now)).collect();
    let json_penalties: Vec<Value> = penalties
        .iter()
        .map(|p| json!({"key": p.key, "limit": p.limit, "until": iso8601_utc(p.until), "strikes": p.strikes}))
        .collect();
    Answer::ok(
        text,
        json!({"entries": json_entries, "penalties": json_penalties}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttls_read_durations_or_forever() {
        assert_eq!(parse_ttl("30m"), Some(Some(Duration::from_secs(1800))));
        assert_eq!(parse_ttl("forever"), Some(None));
        assert_eq!(parse_ttl("0"), Some(None));
        assert_eq!(parse_ttl("spam"), None);
        assert_eq!(parse_ttl("0s"), None, "a zero duration is not a ttl");
    }

    #[test]
    fn block_and_allow_lines_parse() {
        let p = |s: &str| ApiCommand::parse(Some(s));
        assert_eq!(
            p("block +86170* 2h robocalls from the pool"),
            Ok(ApiCommand::AddEntry {
                list: RuntimeList::Block,
                pattern: "+86170*".into(),
                ttl: Some(Duration::from_secs(7200)),
                note: "robocalls from the pool".into()
            })
        );
        assert_eq!(
            p("allow 13800138000 courier"),
            Ok(ApiCommand::AddEntry {
                list: RuntimeList::Allow,
                pattern: "13800138000".into(),
                ttl: None,
                note: "courier".into()
            })
        );
        assert_eq!(
            p("unallow 13800138000"),
            Ok(ApiCommand::RemoveEntry {
                list: RuntimeList::Allow,
                pattern: "13800138000".into()
            })
        );
        assert_eq!(
            p("list penalty +86"),
            Ok(ApiCommand::List {
                kind: Some(ListKind::Penalty),
                filter: Some("+86".into())
            })
        );
        assert_eq!(
            p("list spam"),
            Ok(ApiCommand::List {
                kind: None,
                filter: Some("spam".into())
            })
        );
        assert_eq!(p("stats reset"), Ok(ApiCommand::Stats { reset: true }));
        assert_eq!(
            p("json list block"),
            Ok(ApiCommand::Json(Box::new(ApiCommand::List {
                kind: Some(ListKind::Block),
                filter: None
            })))
        );
        for bad in [
            "block",
            "unblock",
            "unblock a b",
            "list block a b",
            "stats now",
            "metrics x",
            "json",
        ] {
            let err = p(bad).unwrap_err().to_string();
            assert!(
                err.starts_with("-ERR ") && err.contains("usage: callscreen"),
                "{bad}: {err}"
            );
        }
    }
}
