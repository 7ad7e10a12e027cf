//! `stats`, `metrics`, `report` and the operations part of `status`.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::Ordering;
use std::time::SystemTime;

use serde_json::{json, Value};

use super::json::Answer;
use super::Service;
use crate::metrics::{CountsSnapshot, PromText};
use crate::report::{self, Format, Query};
use crate::runtime_lists::RuntimeList;
use crate::timefmt::iso8601_utc;

fn table(
    out: &mut String,
    title: &str,
    total: &BTreeMap<String, u64>,
    since: &BTreeMap<String, u64>,
) {
    if total.is_empty() {
        return;
    }
    let _ = writeln!(out, "by {title}:");
    let w = total.keys().map(|k| k.chars().count()).max().unwrap_or(0);
    let mut rows: Vec<(&String, &u64)> = total.iter().collect();
    rows.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
    for (k, v) in rows {
        let _ = writeln!(
            out,
            "  {k:<w$}  {v:>8}  (since reset {})",
            since.get(k).copied().unwrap_or(0)
        );
    }
}

fn counts_json(c: &CountsSnapshot) -> Value {
    json!({"verdict": c.verdict, "rule": c.rule, "reason": c.reason, "reply": c.reply, "limit": c.limit})
}

/// `stats [reset]`.
pub(super) fn stats(service: &Service, reset: bool) -> Answer {
    let m = &service.ops.metrics;
    let now = SystemTime::now();
    if reset {
        m.reset(now);
        return Answer::ok(
            format!("+OK counters reset at {}\n", iso8601_utc(now)),
            json!({"reset_at": iso8601_utc(now)}),
        );
    }
    let totals = m.totals();
    let (reset_at, since) = m.since_reset();
    let mut out = String::from("+OK\n");
    let _ = writeln!(out, "since load: {}", iso8601_utc(service.started_at()));
    let _ = writeln!(out, "since reset: {}", iso8601_utc(reset_at));
    let sum = |c: &BTreeMap<String, u64>| c.values().sum::<u64>();
    let _ = writeln!(
        out,
        "calls: {} (since reset {})",
        sum(&totals.verdict),
        sum(&since.verdict)
    );
    for (title, t, s) in [
        ("verdict", &totals.verdict, &since.verdict),
        ("rule", &totals.rule, &since.rule),
        ("reason", &totals.reason, &since.reason),
        ("reply", &totals.reply, &since.reply),
        ("limit", &totals.limit, &since.limit),
    ] {
        table(&mut out, title, t, s);
    }
    Answer::ok(
        out,
        json!({
            "loaded_at": iso8601_utc(service.started_at()),
            "reset_at": iso8601_utc(reset_at),
            "since_load": counts_json(&totals),
            "since_reset": counts_json(&since),
        }),
    )
}

/// `metrics`: everything counted, in the Prometheus text format. The first
/// line is a comment (`# +OK …`), so the whole answer can be scraped as is.
pub(super) fn metrics(service: &Service) -> String {
    collect_metrics(service).finish()
}

/// `json metrics`: the same families as one JSON object under `metrics`
/// (name -> type, help and samples with their labels).
pub(super) fn metrics_json(service: &Service) -> Answer {
    Answer::ok(
        String::new(),
        json!({"metrics": collect_metrics(service).to_json()}),
    )
}

/// Every metric family the module exports, read once.
fn collect_metrics(service: &Service) -> PromText {
    let ops = &service.ops;
    let m = &ops.metrics;
    let totals = m.totals();
    let mut p = PromText::new("+OK mod_callscreen metrics (Prometheus text format)");
    p.counters(
        "callscreen_calls_total",
        "Screened calls by verdict (allow, block, error).",
        "verdict",
        &totals.verdict,
    )
    .counters(
        "callscreen_calls_by_rule_total",
        "Screened calls by deciding rule (default when none matched).",
        "rule",
        &totals.rule,
    )
    .counters(
        "callscreen_calls_by_reason_total",
        "Screened calls by reason.",
        "reason",
        &totals.reason,
    )
    .counters(
        "callscreen_calls_by_reply_total",
        "Blocked calls by reply.",
        "reply",
        &totals.reply,
    )
    .counters(
        "callscreen_calls_by_limit_total",
        "Calls decided by a rate limit or the penalty box, by limit.",
        "limit",
        &totals.limit,
    )
    .histogram(
        "callscreen_decision_seconds",
        "Time the engine took to decide a call.",
        &m.latency,
    );
    p.family(
        "callscreen_events_fired_total",
        "counter",
        "callscreen::verdict events fired.",
    )
    .sample(
        "callscreen_events_fired_total",
        &[],
        m.events_fired.load(Ordering::Relaxed) as f64,
    );
    p.counters(
        "callscreen_calls_by_shadow_limit_total",
        "Calls a shadow limit would have refused, by shadow limit.",
        "limit",
        &m.shadow_limit.snapshot(),
    )
    .counters(
        "callscreen_challenges_total",
        "Challenges run to their end, by result (passed, failed).",
        "result",
        &m.challenge.snapshot(),
    );
    limiter_metrics(service, &mut p);
    let now = SystemTime::now();
    p.family(
        "callscreen_runtime_entries",
        "gauge",
        "Live entries in the runtime lists.",
    );
    for list in RuntimeList::ALL {
        p.sample(
            "callscreen_runtime_entries",
            &[("list", list.name())],
            ops.runtime.len(list, now) as f64,
        );
    }
    let ledger = ops.ledger();
    let stat = |f: &dyn Fn(&crate::ledger::LedgerStats) -> u64| {
        ledger.as_ref().map_or(0.0, |l| f(l.stats()) as f64)
    };
    p.family(
        "callscreen_ledger_queue_depth",
        "gauge",
        "Ledger records waiting for the writer.",
    )
    .sample(
        "callscreen_ledger_queue_depth",
        &[],
        stat(&|s| s.depth.load(Ordering::Relaxed) as u64),
    );
    p.family(
        "callscreen_ledger_queue_capacity",
        "gauge",
        "Ledger queue size.",
    )
    .sample(
        "callscreen_ledger_queue_capacity",
        &[],
        ledger
            .as_ref()
            .map_or(0.0, |l| l.settings().queue_size as f64),
    );
    for (name, help, value) in [
        (
            "callscreen_ledger_written_total",
            "Ledger records written.",
            stat(&|s| s.written()),
        ),
        (
            "callscreen_ledger_dropped_total",
            "Ledger records dropped because the queue was full.",
            stat(&|s| s.dropped()),
        ),
        (
            "callscreen_ledger_failed_total",
            "Ledger records that could not be written.",
            stat(&|s| s.failed.load(Ordering::Relaxed)),
        ),
    ] {
        p.family(name, "counter", help).sample(name, &[], value);
    }
    let s = &service.stats;
    p.family(
        "callscreen_reloads_total",
        "counter",
        "Config reloads by result.",
    )
    .sample(
        "callscreen_reloads_total",
        &[("result", "ok")],
        s.reloads_ok.load(Ordering::Relaxed) as f64,
    )
    .sample(
        "callscreen_reloads_total",
        &[("result", "failed")],
        s.reloads_failed.load(Ordering::Relaxed) as f64,
    );
    let last = ops.last_reload();
    p.family(
        "callscreen_last_reload_success",
        "gauge",
        "1 if the last reload succeeded (or none happened and a config is loaded).",
    )
    .sample(
        "callscreen_last_reload_success",
        &[],
        match &last {
            Some(r) => f64::from(u8::from(r.ok)),
            None => f64::from(u8::from(service.engine().is_some())),
        },
    );
    if let Some(r) = &last {
        p.family(
            "callscreen_last_reload_timestamp_seconds",
            "gauge",
            "When the last reload was attempted (Unix time).",
        )
        .sample(
            "callscreen_last_reload_timestamp_seconds",
            &[],
            crate::timefmt::unix_millis(r.at) as f64 / 1000.0,
        );
    }
    p.family(
        "callscreen_config_loaded",
        "gauge",
        "1 while a config is loaded.",
    )
    .sample(
        "callscreen_config_loaded",
        &[],
        f64::from(u8::from(service.engine().is_some())),
    );
    p
}

/// The limiter's figures, table by table (a limit has a table per prefix
/// length): labelled `limit` and `digits` (0 for keys without a prefix).
fn limiter_metrics(service: &Service, p: &mut PromText) {
    let reports = service
        .limits()
        .report(crate::limits::unix_seconds(SystemTime::now()));
    type Figure = fn(&crate::limits::store::TableReport) -> u64;
    let families: [(&str, &str, &str, Figure); 7] = [
        (
            "callscreen_limiter_keys",
            "gauge",
            "Rate-limit keys tracked now.",
            |r| r.keys as u64,
        ),
        (
            "callscreen_limiter_max_keys",
            "gauge",
            "Most keys a limit level tracks (limits.max_keys).",
            |r| r.max_keys as u64,
        ),
        (
            "callscreen_limiter_penalty_keys",
            "gauge",
            "Keys in the penalty box now.",
            |r| r.penalties as u64,
        ),
        (
            "callscreen_limiter_trips_total",
            "counter",
            "Calls that went over a threshold (and put their key in the box).",
            |r| r.trips,
        ),
        (
            "callscreen_limiter_boxed_total",
            "counter",
            "Calls refused because their key was in the penalty box.",
            |r| r.boxed,
        ),
        (
            "callscreen_limiter_keys_evicted_total",
            "counter",
            "Keys dropped to bound memory: idle ones, then the least recent at the cap.",
            |r| r.evicted_idle + r.evicted_full,
        ),
        (
            "callscreen_limiter_keys_dropped_total",
            "counter",
            "New keys not tracked because the cap was full of boxed keys.",
            |r| r.dropped,
        ),
    ];
    for (name, kind, help, figure) in families {
        p.family(name, kind, help);
        for r in &reports {
            p.sample(
                name,
                &[("limit", &r.limit), ("digits", &r.digits.to_string())],
                figure(r) as f64,
            );
        }
    }
}

/// `report [options]` in the format the options ask.
pub(super) fn report(service: &Service, args: &[String]) -> String {
    report_as(service, args, None)
}

/// `report`, with the format forced (`json report`).
pub(super) fn report_as(service: &Service, args: &[String], force: Option<Format>) -> String {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    let plan = service
        .engine()
        .map(|e| e.config().numbering.clone())
        .unwrap_or_default();
    let fail = |m: String| match force {
        Some(Format::Json) => Answer::err(m).json(),
        _ => format!("-ERR {m}\nusage: callscreen {}\n", report::REPORT_USAGE),
    };
    let mut query = match Query::parse(&words, &plan, SystemTime::now()) {
        Ok(q) => q,
        Err(e) => return fail(e),
    };
    if let Some(f) = force {
        query.format = f;
    }
    let Some(ledger) = service.ops.ledger() else {
        return fail(format!("no ledger: {}", service.ops.ledger_note()));
    };
    // Include what the call threads queued a moment ago.
    ledger.flush();
    match report::build(ledger.dir(), &query) {
        Ok(r) => match query.format {
            Format::Text => format!("+OK\n{}", report::render(&r, Format::Text)),
            Format::Csv => format!("+OK\n{}", report::render(&r, Format::Csv)),
            Format::Json => {
                let mut v = serde_json::to_value(&r).unwrap_or_default();
                if let Some(m) = v.as_object_mut() {
                    m.insert("ok".into(), Value::Bool(true));
                }
                format!("{v}\n")
            }
        },
        Err(e) => fail(e),
    }
}

/// Lines of `status` about runtime state, ledger, events and watching.
pub(super) fn status_operations(service: &Service, out: &mut String) {
    let ops = &service.ops;
    let now = SystemTime::now();
    let store = ops.store();
    let _ = writeln!(
        out,
        "runtime entries: {} {}, {} {} ({}{})",
        RuntimeList::Block,
        ops.runtime.len(RuntimeList::Block, now),
        RuntimeList::Allow,
        ops.runtime.len(RuntimeList::Allow, now),
        ops.store_note(),
        store
            .as_ref()
            .map(|s| format!(", {} records", s.journal_records()))
            .unwrap_or_default()
    );
    match ops.ledger() {
        Some(l) => {
            let s = l.stats();
            let _ = writeln!(
                out,
                "ledger: {} (fsync {}): written {}, queue {}/{}, dropped {}, failed {}",
                l.dir().display(),
                l.settings().fsync,
                s.written(),
                s.depth.load(Ordering::Relaxed),
                l.settings().queue_size,
                s.dropped(),
                s.failed.load(Ordering::Relaxed)
            );
            if let Some(e) = s.last_error() {
                let _ = writeln!(out, "ledger last error: {e}");
            }
        }
        None => {
            let _ = writeln!(out, "ledger: {}", ops.ledger_note());
        }
    }
    let settings = service.operations();
    let _ = writeln!(
        out,
        "events: callscreen::verdict {}, callscreen::penalty {}",
        if settings.events.verdict { "on" } else { "off" },
        if settings.events.penalty { "on" } else { "off" }
    );
    let _ = writeln!(
        out,
        "watch: {}",
        match service.watch_interval() {
            Some(i) => format!("every {}", crate::durations::format_duration(i)),
            None => "off".to_string(),
        }
    );
    if let Some(r) = ops.last_reload() {
        let _ = writeln!(
            out,
            "last reload: {} ({}) {}: {}",
            iso8601_utc(r.at),
            r.source,
            if r.ok { "ok" } else { "failed" },
            r.message
        );
    }
}

/// The limit tables, as the `limit …` lines of `status` show them.
fn limits_json(service: &Service) -> Value {
    let reports = service
        .limits()
        .report(crate::limits::unix_seconds(SystemTime::now()));
    reports
        .iter()
        .map(|r| {
            json!({"limit": r.limit, "key": r.kind.as_str(), "digits": r.digits,
                   "keys": r.keys, "max_keys": r.max_keys, "bytes_per_key": r.stride_bytes,
                   "in_penalty_box": r.penalties, "trips": r.trips, "refused_while_boxed": r.boxed,
                   "evicted_idle": r.evicted_idle, "evicted_at_cap": r.evicted_full,
                   "dropped": r.dropped})
        })
        .collect()
}

/// `json status`.
pub(super) fn status_json(service: &Service) -> Answer {
    let ops = &service.ops;
    let now = SystemTime::now();
    let s = &service.stats;
    let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    let engine = service.engine();
    let ledger = ops.ledger().map(|l| {
        let st = l.stats();
        json!({"dir": l.dir(), "fsync": l.settings().fsync.to_string(), "written": st.written(),
               "queue_depth": st.depth.load(Ordering::Relaxed), "queue_size": l.settings().queue_size,
               "dropped": st.dropped(), "failed": st.failed.load(Ordering::Relaxed), "last_error": st.last_error()})
    });
    Answer::ok(
        String::new(),
        json!({
            "config": service.config_path(),
            "module_loaded": iso8601_utc(service.started_at()),
            "config_loaded": service.config_loaded_at().map(iso8601_utc),
            "state": if engine.is_some() { "loaded" } else { "error" },
            "error": service.last_error(),
            "rules": engine.as_ref().map(|e| e.rule_count()),
            "lists": engine.as_ref().map(|e| e.config().defined_list_count()),
            "entries": engine.as_ref().map(|e| e.entry_count()),
            "calls": {"screened": load(&s.screened), "allowed": load(&s.allowed),
                      "blocked": load(&s.blocked), "error": load(&s.errors),
                      "limited": load(&s.limited), "shadow_limited": load(&s.shadow_limited)},
            "limits": limits_json(service),
            "limit_state": service.state_file(),
            "reloads": {"ok": load(&s.reloads_ok), "failed": load(&s.reloads_failed)},
            "runtime_entries": {"block": ops.runtime.len(RuntimeList::Block, now),
                                "allow": ops.runtime.len(RuntimeList::Allow, now)},
            "state_store": ops.store_note(),
            "ledger": ledger,
            "ledger_note": ops.ledger_note(),
            "last_reload": ops.last_reload().map(|r| json!({"at": iso8601_utc(r.at), "source": r.source, "ok": r.ok, "message": r.message})),
        }),
    )
}
