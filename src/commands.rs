//! The `callscreen` API command (fs_cli), parsed and answered in pure Rust.
//! Every answer starts with `+OK` or `-ERR`, as FreeSWITCH's own commands do.

use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::check_args::CheckRequest;
use crate::config::duration::Seconds;
use crate::engine::{CallFacts, Engine, ProfileChoice};
use crate::limits::unix_seconds;
use crate::numbers::printable;
use crate::runtime_lists::RuntimeList;
use crate::service::{Persisted, Service};
use crate::timefmt::iso8601_utc;

mod entries;
mod json;
#[cfg(test)]
mod ops_tests;
mod stats;

pub use entries::{parse_ttl, ListKind};

/// Usage text, shown with every `-ERR` about the command line.
pub const USAGE: &str = "usage: callscreen status | reload
       callscreen check [--profile NAME] [--var NAME=VALUE]... [--name CALLER_NAME] [--time TIME] <caller> [<destination>]
       callscreen penalty list [<limit>] | penalty clear <key>|all
       callscreen block|allow <pattern> [<ttl>] [<note>] | unblock|unallow <pattern>
       callscreen list [block|allow|penalty] [<filter>] | stats [reset] | metrics
       callscreen report [--since <date|7d>] [--caller <number|prefix*>] [--format text|csv|json]
       callscreen json <command>   (the answer as one JSON object)";

/// Words offered by fs_cli tab completion, one `switch_console_set_complete` line each.
pub const COMPLETIONS: &[&str] = &[
    "add callscreen status",
    "add callscreen reload",
    "add callscreen check",
    "add callscreen block",
    "add callscreen allow",
    "add callscreen unblock",
    "add callscreen unallow",
    "add callscreen list block",
    "add callscreen list allow",
    "add callscreen list penalty",
    "add callscreen stats reset",
    "add callscreen metrics",
    "add callscreen report --since",
    "add callscreen report --caller",
    "add callscreen report --format",
    "add callscreen json status",
    "add callscreen json check",
    "add callscreen json list",
    "add callscreen json stats",
    "add callscreen json block",
    "add callscreen json allow",
    "add callscreen json unblock",
    "add callscreen json unallow",
    "add callscreen json reload",
    "add callscreen penalty list",
    "add callscreen penalty clear",
];

/// A parsed command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ApiCommand {
    /// Config, load times, counts.
    Status,
    /// Re-read the YAML.
    Reload,
    /// Screen a number without a call and explain.
    Check(CheckRequest),
    /// `block` / `allow`: add a runtime entry.
    AddEntry {
        /// Which runtime list.
        list: RuntimeList,
        /// The pattern as typed.
        pattern: String,
        /// How long it lasts (`None`: until removed).
        ttl: Option<std::time::Duration>,
        /// Free text.
        note: String,
    },
    /// `unblock` / `unallow`: remove a runtime entry.
    RemoveEntry {
        /// Which runtime list.
        list: RuntimeList,
        /// The pattern as typed.
        pattern: String,
    },
    /// `list [block|allow|penalty] [filter]`.
    List {
        /// Which list (`None`: all).
        kind: Option<ListKind>,
        /// Only entries whose pattern or note contains this.
        filter: Option<String>,
    },
    /// `stats [reset]`.
    Stats {
        /// Start the since-reset counts again.
        reset: bool,
    },
    /// `metrics`: Prometheus text.
    Metrics,
    /// `report [options]`: the ledger summarised.
    Report(Vec<String>),
    /// `json <command>`: the answer as JSON.
    Json(Box<ApiCommand>),
    /// Keys in the penalty box.
    PenaltyList {
        /// Only this limit's keys.
        limit: Option<String>,
    },
    /// Lift the penalty of a key (`None`: of every key).
    PenaltyClear {
        /// The key as `penalty list` shows it.
        key: Option<String>,
    },
}

/// A command line that is not understood.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "-ERR {}\n{USAGE}\n", self.0)
    }
}

impl ApiCommand {
    /// Parses the text after `callscreen` (NULL from the host arrives as `None`).
    pub fn parse(line: Option<&str>) -> Result<ApiCommand, UsageError> {
        let words: Vec<&str> = line.unwrap_or("").split_whitespace().collect();
        if let Some(cmd) = entries::parse_ops(&words)? {
            return Ok(cmd);
        }
        match words.as_slice() {
            [] => Err(UsageError("missing command".into())),
            ["status"] => Ok(ApiCommand::Status),
            ["reload"] => Ok(ApiCommand::Reload),
            ["check", rest @ ..] => CheckRequest::parse(rest)
                .map(ApiCommand::Check)
                .map_err(UsageError),
            ["penalty", "list"] => Ok(ApiCommand::PenaltyList { limit: None }),
            ["penalty", "list", limit] => Ok(ApiCommand::PenaltyList {
                limit: Some(limit.to_string()),
            }),
            ["penalty", "clear", "all"] => Ok(ApiCommand::PenaltyClear { key: None }),
            ["penalty", "clear", key] => Ok(ApiCommand::PenaltyClear {
                key: Some(key.to_string()),
            }),
            ["penalty", ..] => Err(UsageError(
                "penalty takes list [<limit>] or clear <key>|all".into(),
            )),
            ["status" | "reload", ..] => {
                Err(UsageError(format!("{} takes no arguments", words[0])))
            }
            [other, ..] => Err(UsageError(format!("unknown command {other:?}"))),
        }
    }
}

/// Runs a command line against the service; the text to print.
pub fn run(service: &Service, line: Option<&str>) -> String {
    let json = line.is_some_and(|l| l.split_whitespace().next() == Some("json"));
    match ApiCommand::parse(line) {
        Ok(cmd) => execute(service, &cmd),
        Err(usage) if json => json::error_with_usage(&usage.0, USAGE),
        Err(usage) => usage.to_string(),
    }
}

/// Runs a parsed command.
pub fn execute(service: &Service, cmd: &ApiCommand) -> String {
    match cmd {
        ApiCommand::Json(inner) => json::execute(service, inner),
        ApiCommand::AddEntry {
            list,
            pattern,
            ttl,
            note,
        } => entries::add(service, *list, pattern, *ttl, note).text(),
        ApiCommand::RemoveEntry { list, pattern } => {
            entries::remove(service, *list, pattern).text()
        }
        ApiCommand::List { kind, filter } => {
            entries::list(service, *kind, filter.as_deref()).text()
        }
        ApiCommand::Stats { reset } => stats::stats(service, *reset).text(),
        ApiCommand::Metrics => stats::metrics(service),
        ApiCommand::Report(args) => stats::report(service, args),
        ApiCommand::Status => status(service),
        ApiCommand::Reload => match service.reload() {
            Ok(s) => {
                let mut out = format!(
                    "+OK reloaded {}: {} rules, {} lists, {} entries, {} replies\n",
                    service.config_path().display(),
                    s.rules,
                    s.lists,
                    s.entries,
                    s.replies
                );
                for note in &s.notes {
                    let _ = writeln!(out, "note: {note}");
                }
                out
            }
            Err(err) => format!("-ERR {err}\n"),
        },
        ApiCommand::Check(request) => match service.engine() {
            Some(engine) => {
                let mut out = check_request(&engine, request);
                let who = engine.config().numbering.classify(&request.caller);
                let now = SystemTime::now();
                if let Some(until) = who
                    .number()
                    .and_then(|n| service.allow_memory.allowed_until(n, now))
                {
                    let _ = writeln!(
                        out,
                        "remembered: passed a challenge; let through until {}",
                        iso8601_utc(until)
                    );
                }
                out
            }
            None => format!(
                "-ERR no config loaded: {}\n",
                service.last_error().unwrap_or_default()
            ),
        },
        ApiCommand::PenaltyList { limit } => penalty_list(service, limit.as_deref()),
        ApiCommand::PenaltyClear { key } => {
            let (cleared, persisted) = service.clear_penalties(key.as_deref(), SystemTime::now());
            let of = key
                .as_deref()
                .map(|k| format!(" of {k}"))
                .unwrap_or_default();
            let lifted = cleared.lifted;
            let forgotten = cleared.forgotten;
            let mut what = Vec::new();
            if lifted > 0 || forgotten == 0 {
                what.push(format!(
                    "lifted {lifted} {}{of}",
                    plural(lifted, "penalty", "penalties")
                ));
            }
            if forgotten > 0 {
                what.push(format!(
                    "forgot {forgotten} remembered {}{} (released: the next trip is a first offence)",
                    plural(forgotten, "offence", "offences"),
                    if lifted > 0 { String::new() } else { of }
                ));
            }
            let what = what.join("; ");
            match (cleared.is_empty(), &key, persisted) {
                (true, Some(key), _) => format!(
                    "-ERR no key {key} in the penalty box or with a remembered offence\n"
                ),
                (_, _, Persisted::Saved) => format!("+OK {what}\n"),
                (_, _, Persisted::MemoryOnly) => format!(
                    "+OK {what} (memory only: no state directory, a restart brings it back)\n"
                ),
                (_, _, Persisted::Failed(why)) => format!(
                    "-ERR {what} in memory, but saving the limit state failed ({why}): a restart may bring it back\n"
                ),
            }
        }
    }
}

fn plural<'a>(n: usize, one: &'a str, many: &'a str) -> &'a str {
    if n == 1 {
        one
    } else {
        many
    }
}

fn at(secs: u32) -> String {
    iso8601_utc(UNIX_EPOCH + Duration::from_secs(u64::from(secs)))
}

fn penalty_list(service: &Service, limit: Option<&str>) -> String {
    let now = unix_seconds(SystemTime::now());
    let entries = service.limits().penalties(now, limit);
    let mut out = format!(
        "+OK {} {} in the penalty box\n",
        entries.len(),
        plural(entries.len(), "key", "keys")
    );
    for e in entries {
        let _ = writeln!(
            out,
            "{} {} until {} ({} left) offence {}{}",
            e.limit,
            e.key,
            at(e.penalty.until),
            Seconds(e.penalty.until.saturating_sub(now)),
            e.penalty.offences,
            if e.shadow { " [shadow]" } else { "" }
        );
    }
    out
}

fn limit_status(service: &Service, out: &mut String) {
    let now = unix_seconds(SystemTime::now());
    let reports = service.limits().report(now);
    if reports.is_empty() {
        return;
    }
    for r in reports {
        let digits = if r.digits > 0 {
            format!(" {} digits", r.digits)
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "limit {} ({}{digits}): {} keys of {} max ({} bytes of state per key), {} in penalty box, {} trips, {} refused while boxed, evicted {} idle / {} at cap, {} dropped",
            r.limit,
            r.kind.as_str(),
            r.keys,
            r.max_keys,
            r.stride_bytes,
            r.penalties,
            r.trips,
            r.boxed,
            r.evicted_idle,
            r.evicted_full,
            r.dropped
        );
    }
    let saves = &service.limits().save_stats;
    match service.state_file() {
        Some(file) => {
            let last = saves.last_save.load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "limit state: {} (saved {} times{}, {} failures{})",
                file.display(),
                saves.saves.load(Ordering::Relaxed),
                if last > 0 {
                    format!(", last {}", at(last as u32))
                } else {
                    String::new()
                },
                saves.failures.load(Ordering::Relaxed),
                saves
                    .last_error
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            );
        }
        None => {
            let _ = writeln!(out, "limit state: in memory only (not saved)");
        }
    }
}

fn status(service: &Service) -> String {
    let mut out = String::from("+OK\n");
    let _ = writeln!(out, "config: {}", service.config_path().display());
    let _ = writeln!(out, "module loaded: {}", iso8601_utc(service.started_at()));
    match service.engine() {
        Some(engine) => {
            let state = match service.last_error() {
                Some(err) => format!("loaded (last reload failed: {err})"),
                None => "loaded".to_string(),
            };
            let _ = writeln!(out, "state: {state}");
            if let Some(at) = service.config_loaded_at() {
                let _ = writeln!(out, "config loaded: {}", iso8601_utc(at));
            }
            let c = engine.config();
            let _ = writeln!(out, "rules: {}", engine.rule_count());
            let _ = writeln!(out, "lists: {}", c.defined_list_count());
            let _ = writeln!(out, "entries: {}", engine.entry_count());
            let _ = writeln!(out, "replies: {}", c.replies.len());
            let _ = writeln!(out, "limits: {}", c.limits.len());
        }
        None => {
            let _ = writeln!(
                out,
                "state: error: {} (calls pass with callscreen_verdict=error)",
                service.last_error().unwrap_or_default()
            );
        }
    }
    let s = &service.stats;
    let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    let _ = writeln!(
        out,
        "calls screened: {} (allowed {}, blocked {}, error {})",
        load(&s.screened),
        load(&s.allowed),
        load(&s.blocked),
        load(&s.errors)
    );
    let _ = writeln!(
        out,
        "calls refused by limits: {} (shadow limits: {})",
        load(&s.limited),
        load(&s.shadow_limited)
    );
    limit_status(service, &mut out);
    let _ = writeln!(
        out,
        "reloads: {} ok, {} failed",
        load(&s.reloads_ok),
        load(&s.reloads_failed)
    );
    stats::status_operations(service, &mut out);
    let _ = writeln!(out, "abi: {}", env!("CALLSCREEN_ABI_CHECK"));
    out
}

/// Screens a caller/destination pair as a call would be, with the trace.
pub fn check(engine: &Engine, caller: &str, destination: &str) -> String {
    check_request(
        engine,
        &CheckRequest {
            caller: caller.to_string(),
            destination: (!destination.is_empty()).then(|| destination.to_string()),
            ..CheckRequest::default()
        },
    )
}

/// Screens a call described by a check request: prints the normalised
/// numbers, the profile, every rule considered and why it matched or not,
/// and the decision.
pub fn check_request(engine: &Engine, request: &CheckRequest) -> String {
    let variables: Vec<(&str, &str)> = request
        .variables
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    let destination = request.destination.as_deref().unwrap_or("");
    let facts = CallFacts {
        caller_number: &request.caller,
        caller_name: request.caller_name.as_deref().unwrap_or(""),
        destination,
        profile: request.profile.as_deref().unwrap_or(""),
        variables: &variables,
        ..CallFacts::default()
    };
    let now = request.time.unwrap_or_else(SystemTime::now);
    let (verdict, trace) = engine.explain(&facts, now);
    let (_, how) = engine.select_profile(&facts);
    let mut out = format!("+OK {}\n", verdict.action.as_str());
    let _ = writeln!(
        out,
        "caller: {} -> {}",
        printable(&request.caller),
        verdict.caller
    );
    if !destination.is_empty() {
        let _ = writeln!(
            out,
            "destination: {} -> {}",
            printable(destination),
            verdict.destination
        );
    }
    if let Some(name) = &request.caller_name {
        let _ = writeln!(out, "caller name: {name:?}");
    }
    for (name, value) in &request.variables {
        let _ = writeln!(out, "variable: {name}={value:?}");
    }
    let _ = writeln!(out, "time: {}", iso8601_utc(now));
    let _ = writeln!(
        out,
        "profile: {} ({})",
        verdict.profile,
        match how {
            ProfileChoice::Requested => "requested".to_string(),
            ProfileChoice::Destination => "chosen by destination".to_string(),
            ProfileChoice::Default => "no profile requested or matched by destination".to_string(),
            ProfileChoice::Unknown => format!(
                "requested profile {:?} does not exist",
                request.profile.as_deref().unwrap_or("")
            ),
        }
    );
    let _ = writeln!(out, "rule: {}", verdict.rule_name());
    let _ = writeln!(out, "reason: {}", verdict.reason);
    if let Some(reply) = verdict.reply {
        let _ = writeln!(out, "reply: {} ({})", reply.name, reply.kind);
    }
    if let Some(hit) = &verdict.limit {
        let _ = writeln!(
            out,
            "limit: {} key {} {} ({})",
            hit.limit.name,
            hit.key_text(),
            hit.state.as_str(),
            hit.counters_text()
        );
    }
    if let Some(hit) = &verdict.shadow_limit {
        let _ = writeln!(
            out,
            "shadow limit: {} key {} {} ({})",
            hit.limit.name,
            hit.key_text(),
            hit.state.as_str(),
            hit.counters_text()
        );
    }
    if let Some(shadow) = verdict.shadow {
        let _ = writeln!(
            out,
            "shadow: rule {} would {} (recorded, not acted on)",
            shadow.name,
            shadow.action.as_str()
        );
    }
    let _ = writeln!(out, "trace:");
    let mut n = 0;
    for step in &trace {
        if step.rule == "reply" {
            let _ = writeln!(out, "     -> reply {}", step.detail);
            continue;
        }
        n += 1;
        let mark = match (step.matched, step.shadow) {
            (true, true) => "SHADOW",
            (true, false) => "MATCH",
            (false, _) => "skip ",
        };
        let _ = writeln!(out, "  {n}. {mark} {}: {}", step.rule, step.detail);
    }
    if verdict.rule.is_none() {
        let _ = writeln!(
            out,
            "  no rule matched: default action {}",
            verdict.action.as_str()
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn service(name: &str, yaml: &str) -> (Service, PathBuf) {
        let path =
            std::env::temp_dir().join(format!("callscreen-cmd-{name}-{}.yaml", std::process::id()));
        std::fs::write(&path, yaml).unwrap();
        let (s, _) = Service::start(&path);
        (s, path)
    }

    const YAML: &str = "lists:\n  bad: [\"+86170*\"]\nrules:\n  - name: pool\n    caller_in: bad\n    action: block\n";

    #[test]
    fn command_lines_parse_or_give_usage() {
        assert_eq!(ApiCommand::parse(Some("status")), Ok(ApiCommand::Status));
        assert_eq!(ApiCommand::parse(Some("  reload ")), Ok(ApiCommand::Reload));
        assert_eq!(
            ApiCommand::parse(Some("check 17012345678 4000")),
            Ok(ApiCommand::Check(CheckRequest {
                caller: "17012345678".into(),
                destination: Some("4000".into()),
                ..CheckRequest::default()
            }))
        );
        for bad in [
            None,
            Some(""),
            Some("bogus"),
            Some("check"),
            Some("check a b c"),
            Some("status now"),
        ] {
            let err = ApiCommand::parse(bad).unwrap_err().to_string();
            assert!(err.starts_with("-ERR "), "{err}");
            assert!(err.contains(USAGE), "{err}");
        }
    }

    #[test]
    fn check_prints_verdict_rule_and_trace() {
        let (s, path) = service("check", YAML);
        let out = run(&s, Some("check 017012345678 4000"));
        assert!(out.starts_with("+OK block\n"), "{out}");
        assert!(
            out.contains("caller: 017012345678 -> +8617012345678\n"),
            "{out}"
        );
        assert!(out.contains("rule: pool\n"), "{out}");
        assert!(
            out.contains("reply: rejected (reject CALL_REJECTED)\n"),
            "{out}"
        );
        assert!(
            out.contains("1. MATCH pool: caller +8617012345678 matches prefix +86170* of bad"),
            "{out}"
        );
        let out = run(&s, Some("check 13800138000"));
        assert!(out.starts_with("+OK allow\n"), "{out}");
        assert!(
            out.contains("no rule matched: default action allow"),
            "{out}"
        );
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn status_and_reload_report_the_config() {
        let (s, path) = service("status", YAML);
        let out = run(&s, Some("status"));
        assert!(out.starts_with("+OK\n"), "{out}");
        assert!(
            out.contains(&format!("config: {}\n", path.display())),
            "{out}"
        );
        assert!(out.contains("state: loaded\n"), "{out}");
        assert!(out.contains("rules: 1\n"), "{out}");
        assert!(out.contains("entries: 1\n"), "{out}");
        assert!(out.contains("calls screened: 0"), "{out}");

        std::fs::write(&path, "rules: [\n").unwrap();
        let out = run(&s, Some("reload"));
        assert!(
            out.starts_with(&format!("-ERR {}:", path.display())),
            "{out}"
        );
        let out = run(&s, Some("status"));
        assert!(out.contains("state: loaded (last reload failed: "), "{out}");
        assert!(out.contains("reloads: 0 ok, 1 failed"), "{out}");

        std::fs::write(&path, YAML).unwrap();
        let out = run(&s, Some("reload"));
        assert!(out.starts_with("+OK reloaded"), "{out}");
        assert!(out.contains("1 rules, 1 lists, 1 entries"), "{out}");
        std::fs::remove_file(path).unwrap();
    }

    #[test]
    fn without_config_check_and_status_show_the_error() {
        let (s, _) = Service::start(std::path::Path::new("/nonexistent/c.yaml"));
        let out = run(&s, Some("check 17012345678"));
        assert!(
            out.starts_with("-ERR no config loaded: /nonexistent/c.yaml: cannot read"),
            "{out}"
        );
        let out = run(&s, Some("status"));
        assert!(
            out.contains("state: error: /nonexistent/c.yaml: cannot read"),
            "{out}"
        );
    }

    const PROFILES: &str = r#"
lists:
  pools: ["+86170*"]
rules:
  - name: night-trial
    shadow: true
    schedule: { timezone: Asia/Shanghai, time: "22:00-07:00" }
    action: block
  - name: robots
    variables: { sip_user_agent: "scanner" }
    action: block
profiles:
  courier-line:
    destination: "4001"
    rules:
      - { name: courier-pools, caller_in: pools, action: block }
"#;

    #[test]
    fn check_takes_profile_variables_and_time() {
        let (s, path) = service("check-options", PROFILES);
        let out = run(
            &s,
            Some("check --var sip_user_agent=friendly-scanner --time 2025-01-06T23:30[Asia/Shanghai] +12025550123 4000"),
        );
        assert!(out.starts_with("+OK block\n"), "{out}");
        assert!(
            out.contains("variable: sip_user_agent=\"friendly-scanner\"\n"),
            "{out}"
        );
        assert!(out.contains("time: 2025-01-06T15:30:00Z\n"), "{out}");
        assert!(
            out.contains("profile: default (no profile requested or matched by destination)\n"),
            "{out}"
        );
        assert!(
            out.contains("shadow: rule night-trial would block (recorded, not acted on)\n"),
            "{out}"
        );
        assert!(
            out.contains("  1. SHADOW night-trial: inside schedule 22:00-07:00 (Asia/Shanghai)\n"),
            "{out}"
        );
        assert!(out.contains("  2. MATCH robots: variable sip_user_agent = \"friendly-scanner\" matches /scanner/\n"), "{out}");

        let out = run(
            &s,
            Some("check --time 2025-01-06T12:00:00Z 017012345678 4001"),
        );
        assert!(
            out.contains("profile: courier-line (chosen by destination)\n"),
            "{out}"
        );
        assert!(out.contains("rule: courier-pools\n"), "{out}");
        assert!(!out.contains("shadow:"), "{out}");

        let out = run(&s, Some("check --profile nope 017012345678 4001"));
        assert!(
            out.contains("profile: default (requested profile \"nope\" does not exist)\n"),
            "{out}"
        );
        assert!(
            out.contains(
                "  2. skip  robots: variable sip_user_agent = \"\" does not match /scanner/\n"
            ),
            "{out}"
        );

        let out = run(&s, Some("check --when now 1"));
        assert!(out.starts_with("-ERR unknown option \"--when\"\n"), "{out}");
        std::fs::remove_file(path).unwrap();
    }
}
