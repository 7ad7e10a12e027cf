//! `callscreen report`: the evidence ledger summarised per caller, per
//! number block and per destination, with first and last seen and counts —
//! the table a harassed person attaches to a complaint. Used by the fs_cli
//! command and the offline CLI alike.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Serialize;

use crate::durations::parse_duration;
use crate::ledger::files;
use crate::numbers::{Caller, NumberPlan};
use crate::pattern::Pattern;
use crate::summary::cells::csv_field;
use crate::summary::ledger::{read_ledger, LedgerEntry, LedgerStats};
use crate::timefmt::{iso8601_utc, parse_iso8601};

/// Output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Aligned tables for people.
    Text,
    /// One CSV table (with a `table` column) for spreadsheets.
    Csv,
    /// One JSON object for programs.
    Json,
}

/// What to report on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query {
    /// Only calls at or after this time.
    pub since: Option<SystemTime>,
    /// Only callers matching this pattern.
    pub caller: Option<Pattern>,
    /// Output format.
    pub format: Format,
}

/// Usage of the report options.
pub const REPORT_USAGE: &str =
    "report [--since <YYYY-MM-DD[THH:MM[:SS]][Z|±HH:MM]> | <duration such as 7d>] [--caller <number or prefix*>] [--format text|csv|json]";

impl Query {
    /// Parses `--since …`, `--caller …`, `--format …` (in any order).
    pub fn parse(words: &[&str], plan: &NumberPlan, now: SystemTime) -> Result<Query, String> {
        let mut q = Query {
            since: None,
            caller: None,
            format: Format::Text,
        };
        let mut it = words.iter();
        while let Some(&word) = it.next() {
            let mut value = |name: &str| {
                it.next()
                    .copied()
                    .ok_or_else(|| format!("{name} needs a value"))
            };
            match word {
                "--since" => {
                    let v = value("--since")?;
                    q.since = Some(match parse_iso8601(v) {
                        Some(t) => t,
                        None => {
                            let d = parse_duration(v).map_err(|_| {
                                format!("--since {v:?}: give a date (2026-05-01), a time (2026-05-01T08:00+08:00) or a duration back from now (7d)")
                            })?;
                            now.checked_sub(d).unwrap_or(std::time::UNIX_EPOCH)
                        }
                    });
                }
                "--caller" => {
                    let v = value("--caller")?;
                    let pattern = Pattern::parse(v, plan).map_err(|e| format!("--caller: {e}"))?;
                    if !matches!(pattern, Pattern::Exact(_) | Pattern::Prefix(_)) {
                        return Err(format!(
                            "--caller takes a number or a prefix (+86170*), not {v:?}"
                        ));
                    }
                    q.caller = Some(pattern);
                }
                "--format" => {
                    q.format = match value("--format")? {
                        "text" => Format::Text,
                        "csv" => Format::Csv,
                        "json" => Format::Json,
                        other => return Err(format!("--format {other:?}: use text, csv or json")),
                    }
                }
                other => return Err(format!("unknown report option {other:?}")),
            }
        }
        Ok(q)
    }

    /// Whether a call at `time` from `caller` is to be counted.
    pub fn matches(&self, time: SystemTime, caller: &Caller) -> bool {
        if self.since.is_some_and(|since| time < since) {
            return false;
        }
        match (&self.caller, caller) {
            (None, _) => true,
            (Some(Pattern::Exact(n)), Caller::Number(c)) => n == c,
            (Some(Pattern::Prefix(d)), Caller::Number(c)) => {
                c.digits().as_str().starts_with(d.as_str())
            }
            // Refused by `parse`, or a caller without a number.
            _ => false,
        }
    }
}

/// One row of a table.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Row {
    /// Caller, number block or destination.
    pub key: String,
    /// Calls.
    pub calls: u64,
    /// First call (ISO 8601).
    pub first_seen: String,
    /// Last call (ISO 8601).
    pub last_seen: String,
    /// Distinct callers (for blocks and destinations).
    pub callers: usize,
    /// Rules (or limits) that decided.
    pub rules: BTreeSet<String>,
    /// Outcomes with their counts.
    pub outcomes: BTreeMap<String, u64>,
    /// Caller names seen.
    pub names: BTreeSet<String>,
}

#[derive(Default)]
struct Acc {
    row: Row,
    callers: BTreeSet<String>,
    span: Option<(SystemTime, SystemTime)>,
}

impl Acc {
    fn add(&mut self, key: &str, caller: &str, e: &LedgerEntry<'_>) {
        let row = &mut self.row;
        let o = &e.outcome;
        if row.calls == 0 {
            row.key = key.to_string();
        }
        row.calls += 1;
        let (first, last) = self.span.get_or_insert((o.time, o.time));
        if row.first_seen.is_empty() || o.time < *first {
            *first = o.time;
            row.first_seen = e.time_text.to_string();
        }
        if row.last_seen.is_empty() || o.time > *last {
            *last = o.time;
            row.last_seen = e.time_text.to_string();
        }
        let decided = if o.limit.is_empty() { o.rule } else { o.limit };
        if !row.rules.contains(decided) {
            row.rules.insert(decided.to_string());
        }
        *row.outcomes.entry(e.recorded.to_string()).or_default() += 1;
        if !e.caller_name.is_empty() && row.names.len() < 5 {
            row.names.insert(e.caller_name.to_string());
        }
        if !self.callers.contains(caller) {
            self.callers.insert(caller.to_string());
        }
    }

    /// A follow-up line (a challenge's result): counted as an outcome of
    /// the call already counted, not as another call.
    fn add_follow_up(&mut self, e: &LedgerEntry<'_>) {
        *self.row.outcomes.entry(e.recorded.to_string()).or_default() += 1;
    }

    fn finish(mut self) -> Row {
        self.row.callers = self.callers.len();
        self.row
    }
}

/// The summary.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    /// Ledger directory read.
    pub ledger: PathBuf,
    /// Files read.
    pub files: usize,
    /// Calls counted.
    pub calls: u64,
    /// Lines that were not ledger records (skipped).
    pub unreadable_lines: u64,
    /// Earliest call counted.
    pub from: String,
    /// Latest call counted.
    pub to: String,
    /// Per caller (E.164), most calls first.
    pub by_caller: Vec<Row>,
    /// Per number block (caller without its last 4 digits).
    pub by_block: Vec<Row>,
    /// Per destination.
    pub by_destination: Vec<Row>,
}

/// The number block of a caller: `+8617012345678` → `+861701234*`.
pub fn number_block(caller: &str) -> String {
    match caller.strip_prefix('+') {
        Some(d) if d.len() > 6 && d.bytes().all(|b| b.is_ascii_digit()) => {
            format!("+{}*", &d[..d.len() - 4])
        }
        _ => caller.to_string(),
    }
}

fn sorted(map: BTreeMap<String, Acc>) -> Vec<Row> {
    let mut rows: Vec<Row> = map.into_values().map(Acc::finish).collect();
    rows.sort_by(|a, b| b.calls.cmp(&a.calls).then_with(|| a.key.cmp(&b.key)));
    rows
}

/// The complaint tables, built one ledger line at a time.
pub struct Tables {
    report: Report,
    span: Option<(SystemTime, SystemTime)>,
    callers: BTreeMap<String, Acc>,
    blocks: BTreeMap<String, Acc>,
    destinations: BTreeMap<String, Acc>,
}

impl Tables {
    /// Empty tables of the ledger `ledger` (a directory, a file or `-`)
    /// made of `files` files.
    pub fn new(ledger: PathBuf, files: usize) -> Tables {
        Tables {
            report: Report {
                ledger,
                files,
                ..Report::default()
            },
            span: None,
            callers: BTreeMap::new(),
            blocks: BTreeMap::new(),
            destinations: BTreeMap::new(),
        }
    }

    /// Counts a line the query selected. Calls the module would not have
    /// recorded (allowed, no shadow match: a replay's output has them) are
    /// left out; a challenge's result counts as an outcome of its call.
    pub fn add(&mut self, e: &LedgerEntry<'_>) {
        if !e.is_screened() {
            return;
        }
        let caller = e.outcome.caller.to_string();
        let block = number_block(&caller);
        let destination = e.outcome.destination;
        if e.is_follow_up() {
            for (map, key) in [
                (&mut self.callers, caller.as_str()),
                (&mut self.blocks, block.as_str()),
                (&mut self.destinations, destination),
            ] {
                if let Some(acc) = map.get_mut(key) {
                    acc.add_follow_up(e);
                }
            }
            return;
        }
        let time = e.outcome.time;
        let r = &mut self.report;
        r.calls += 1;
        let (from, to) = self.span.get_or_insert((time, time));
        if r.from.is_empty() || time < *from {
            *from = time;
            r.from = e.time_text.to_string();
        }
        if r.to.is_empty() || time > *to {
            *to = time;
            r.to = e.time_text.to_string();
        }
        for (map, key) in [
            (&mut self.callers, caller.as_str()),
            (&mut self.blocks, block.as_str()),
            (&mut self.destinations, destination),
        ] {
            match map.get_mut(key) {
                Some(acc) => acc.add(key, &caller, e),
                None => map.entry(key.to_string()).or_default().add(key, &caller, e),
            }
        }
    }

    /// Counts lines that could not be read.
    pub fn add_unreadable(&mut self, lines: u64) {
        self.report.unreadable_lines += lines;
    }

    /// The report.
    pub fn finish(mut self) -> Report {
        self.report.by_caller = sorted(self.callers);
        self.report.by_block = sorted(self.blocks);
        self.report.by_destination = sorted(self.destinations);
        self.report
    }
}

/// The ledger files to read for `path`: every ledger file of a directory
/// (`ledger-YYYY-MM-DD[.N].jsonl`, by day then sequence: in time order), or
/// the file itself.
pub fn ledger_files(path: &Path) -> Result<Vec<PathBuf>, String> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    if meta.is_dir() {
        files::list(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))
    } else {
        Ok(vec![path.to_path_buf()])
    }
}

/// Reads every line of `input` (a ledger file named `name`) that `query`
/// selects into `tables`, and hands each one on to `each` too.
pub fn read_into(
    input: impl BufRead,
    name: &Path,
    query: &Query,
    plan: &NumberPlan,
    tables: &mut Tables,
    mut each: impl FnMut(&LedgerEntry<'_>),
) -> Result<LedgerStats, String> {
    let stats = read_ledger(input, plan, |e| {
        if query.matches(e.outcome.time, &e.outcome.caller) {
            tables.add(e);
            each(e);
        }
    })
    .map_err(|e| format!("{}: cannot read: {e}", name.display()))?;
    tables.add_unreadable(stats.skipped_count);
    Ok(stats)
}

/// Reads every ledger file in `dir` and summarises the calls `query` selects.
pub fn build(dir: &Path, query: &Query) -> Result<Report, String> {
    let paths = files::list(dir).map_err(|e| format!("{}: cannot read: {e}", dir.display()))?;
    let mut tables = Tables::new(dir.to_path_buf(), paths.len());
    let plan = NumberPlan::default();
    for path in &paths {
        let file = std::fs::File::open(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        read_into(
            BufReader::new(file),
            path,
            query,
            &plan,
            &mut tables,
            |_| {},
        )?;
    }
    Ok(tables.finish())
}

fn join<T: AsRef<str>>(items: impl IntoIterator<Item = T>) -> String {
    items
        .into_iter()
        .map(|s| s.as_ref().to_string())
        .collect::<Vec<_>>()
        .join(" ")
}

fn outcomes(row: &Row) -> String {
    join(row.outcomes.iter().map(|(k, v)| format!("{k}:{v}")))
}

fn text_value(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { '?' } else { c })
        .collect()
}

/// Renders the report.
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Json => serde_json::to_string_pretty(report).unwrap_or_default() + "\n",
        Format::Csv => {
            let mut out =
                String::from("table,key,calls,callers,first_seen,last_seen,rules,outcomes,names\n");
            for (table, rows) in [
                ("caller", &report.by_caller),
                ("block", &report.by_block),
                ("destination", &report.by_destination),
            ] {
                for r in rows {
                    let cells = [
                        table.to_string(),
                        r.key.clone(),
                        r.calls.to_string(),
                        r.callers.to_string(),
                        r.first_seen.clone(),
                        r.last_seen.clone(),
                        join(&r.rules),
                        outcomes(r),
                        join(r.names.iter().map(|n| text_value(n))),
                    ];
                    for (i, cell) in cells.iter().enumerate() {
                        if i > 0 {
                            out.push(',');
                        }
                        csv_field(&mut out, cell);
                    }
                    out.push('\n');
                }
            }
            out
        }
        Format::Text => {
            let mut out = format!(
                "Screened calls recorded in {} ({} files): {}",
                report.ledger.display(),
                report.files,
                report.calls
            );
            if report.calls > 0 {
                let _ = write!(out, ", from {} to {}", report.from, report.to);
            }
            out.push('\n');
            if report.unreadable_lines > 0 {
                let _ = writeln!(
                    out,
                    "({} unreadable lines skipped)",
                    report.unreadable_lines
                );
            }
            for (title, head, rows) in [
                ("By caller", "caller", &report.by_caller),
                (
                    "By number block (caller without its last 4 digits)",
                    "block",
                    &report.by_block,
                ),
                (
                    "By destination (the number called)",
                    "destination",
                    &report.by_destination,
                ),
            ] {
                let _ = writeln!(out, "\n{title}");
                let keyw = rows
                    .iter()
                    .map(|r| r.key.chars().count())
                    .max()
                    .unwrap_or(0)
                    .max(head.len());
                let _ = writeln!(
                    out,
                    "{head:<keyw$}  {:>5}  {:>7}  {:<24}  {:<24}  rules / outcomes",
                    "calls", "callers", "first seen", "last seen"
                );
                for r in rows {
                    let _ = writeln!(
                        out,
                        "{:<keyw$}  {:>5}  {:>7}  {:<24}  {:<24}  {} / {}{}",
                        text_value(&r.key),
                        r.calls,
                        r.callers,
                        r.first_seen,
                        r.last_seen,
                        join(&r.rules),
                        outcomes(r),
                        if r.names.is_empty() {
                            String::new()
                        } else {
                            format!(" / names: {}", text_value(&join(&r.names)))
                        }
                    );
                }
            }
            let _ = writeln!(out, "\nReport made {}", iso8601_utc(SystemTime::now()));
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ledger::{LedgerRecord, Outcome};

    fn write_ledger(name: &str, lines: &[(&str, &str, &str, &str)]) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("callscreen-report-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let mut by_file: BTreeMap<String, String> = BTreeMap::new();
        for (time, caller, dest, rule) in lines {
            let r = LedgerRecord {
                time: time.to_string(),
                caller_number: caller.to_string(),
                caller: caller.to_string(),
                caller_name: "Robo,Dialer".to_string(),
                destination_number: dest.to_string(),
                destination: dest.to_string(),
                verdict: "block".into(),
                rule: rule.to_string(),
                reason: "list".into(),
                outcome: Outcome::Blocked,
                ..LedgerRecord::default()
            };
            let f = by_file.entry(files::file_name(&time[..10], 0)).or_default();
            f.push_str(&r.to_json());
            f.push('\n');
        }
        if let Some(f) = by_file.get_mut("ledger-2026-05-01.jsonl") {
            f.push_str("{torn line\n");
        }
        for (file, text) in by_file {
            std::fs::write(dir.join(file), text).unwrap();
        }
        dir
    }

    const CALLS: &[(&str, &str, &str, &str)] = &[
        (
            "2026-05-01T08:00:00.000Z",
            "+8617012345678",
            "+8675512345678",
            "pool",
        ),
        (
            "2026-05-01T09:00:00.000Z",
            "+8617012340001",
            "+8675512345678",
            "pool",
        ),
        (
            "2026-05-02T10:00:00.000Z",
            "+8617012345678",
            "+8675500000000",
            "pool",
        ),
        (
            "2026-05-03T11:00:00.000Z",
            "anonymous",
            "+8675512345678",
            "withheld",
        ),
    ];

    #[test]
    fn calls_are_summarised_per_caller_block_and_destination() {
        let dir = write_ledger("summary", CALLS);
        let q = Query::parse(&[], &NumberPlan::default(), SystemTime::now()).unwrap();
        let r = build(&dir, &q).unwrap();
        assert_eq!((r.files, r.calls, r.unreadable_lines), (3, 4, 1));
        assert_eq!(r.from, "2026-05-01T08:00:00.000Z");
        assert_eq!(r.to, "2026-05-03T11:00:00.000Z");
        let top = &r.by_caller[0];
        assert_eq!(top.key, "+8617012345678");
        assert_eq!(top.calls, 2);
        assert_eq!(top.first_seen, "2026-05-01T08:00:00.000Z");
        assert_eq!(top.last_seen, "2026-05-02T10:00:00.000Z");
        assert_eq!(top.outcomes["blocked"], 2);
        let block = &r.by_block[0];
        assert_eq!(
            (block.key.as_str(), block.calls, block.callers),
            ("+861701234*", 3, 2)
        );
        let dest = &r.by_destination[0];
        assert_eq!((dest.key.as_str(), dest.calls), ("+8675512345678", 3));
        assert_eq!(
            dest.rules.iter().cloned().collect::<Vec<_>>(),
            ["pool", "withheld"]
        );
    }

    #[test]
    fn since_and_caller_select_calls() {
        let dir = write_ledger("filter", CALLS);
        let plan = NumberPlan::default();
        let now = SystemTime::now();
        let q = Query::parse(&["--since", "2026-05-02"], &plan, now).unwrap();
        assert_eq!(build(&dir, &q).unwrap().calls, 2);
        let q = Query::parse(&["--caller", "+8617012345678"], &plan, now).unwrap();
        assert_eq!(build(&dir, &q).unwrap().calls, 2);
        let q = Query::parse(
            &["--caller", "0170*", "--since", "2026-05-01T08:30Z"],
            &plan,
            now,
        )
        .unwrap();
        assert_eq!(build(&dir, &q).unwrap().calls, 2);
        let q = Query::parse(&["--since", "1h"], &plan, now).unwrap();
        assert_eq!(build(&dir, &q).unwrap().calls, 0);
    }

    #[test]
    fn bad_options_are_explained() {
        let plan = NumberPlan::default();
        let now = SystemTime::now();
        for (args, want) in [
            (&["--since"][..], "needs a value"),
            (&["--since", "last tuesday"][..], "give a date"),
            (&["--format", "pdf"][..], "use text, csv or json"),
            (&["--caller", "call-me"][..], "--caller"),
            (&["--verbose"][..], "unknown report option"),
        ] {
            let err = Query::parse(args, &plan, now).unwrap_err();
            assert!(err.contains(want), "{args:?}: {err}");
        }
    }

    #[test]
    fn every_format_renders_the_tables() {
        let dir = write_ledger("formats", CALLS);
        let q = Query::parse(&[], &NumberPlan::default(), SystemTime::now()).unwrap();
        let r = build(&dir, &q).unwrap();
        let text = render(&r, Format::Text);
        assert!(text.contains("By caller\n"), "{text}");
        assert!(text.contains("By number block"), "{text}");
        assert!(
            text.lines().any(|l| l.starts_with("+8617012345678")
                && l.contains("  2  ")
                && l.contains("2026-05-01T08:00:00.000Z")),
            "{text}"
        );
        let csv = render(&r, Format::Csv);
        assert!(
            csv.starts_with("table,key,calls,callers,first_seen,last_seen,rules,outcomes,names\n")
        );
        assert!(
            csv.contains("caller,+8617012345678,2,1,2026-05-01T08:00:00.000Z,2026-05-02T10:00:00.000Z,pool,blocked:2,\"Robo,Dialer\"\n"),
            "{csv}"
        );
        let json: serde_json::Value = serde_json::from_str(&render(&r, Format::Json)).unwrap();
        assert_eq!(json["calls"], 4);
        assert_eq!(json["by_block"][0]["key"], "+861701234*");
    }

    /// Caller names and rule names reach a spreadsheet: whatever would
    /// start a formula (= + - @ tab CR) is shown as text.
    #[test]
    fn csv_cells_cannot_start_a_formula() {
        let r = Report {
            by_caller: vec![Row {
                key: "@SUM(1+1)".into(),
                calls: 1,
                first_seen: "2026-05-01T08:00:00.000Z".into(),
                last_seen: "2026-05-01T08:00:00.000Z".into(),
                rules: ["+cmd|' /C calc'!A0".to_string()].into(),
                outcomes: [("blocked".to_string(), 1)].into(),
                names: ["-2+3".to_string(), "x".to_string()].into(),
                ..Row::default()
            }],
            by_destination: vec![Row {
                key: "\t=1+1".into(),
                ..Row::default()
            }],
            ..Report::default()
        };
        let csv = render(&r, Format::Csv);
        let rows: Vec<&str> = csv.lines().skip(1).collect();
        assert_eq!(
            rows[0],
            "caller,'@SUM(1+1),1,0,2026-05-01T08:00:00.000Z,2026-05-01T08:00:00.000Z,'+cmd|' /C calc'!A0,blocked:1,'-2+3 x"
        );
        assert_eq!(rows[1], "destination,'\t=1+1,0,0,,,,,");
    }

    #[test]
    fn number_blocks_drop_the_last_four_digits() {
        assert_eq!(number_block("+8617012345678"), "+861701234*");
        assert_eq!(number_block("anonymous"), "anonymous");
        assert_eq!(number_block("+86110"), "+86110");
    }

    #[test]
    fn a_challenge_result_is_an_outcome_of_its_call_not_another_call() {
        let dir = write_ledger("challenge", &[]);
        let first = LedgerRecord {
            time: "2026-05-01T08:00:00.000Z".into(),
            caller: "anonymous".into(),
            destination: "4000".into(),
            verdict: "block".into(),
            rule: "ask".into(),
            outcome: Outcome::Challenged,
            ..LedgerRecord::default()
        };
        let result = first.challenge_result(
            false,
            "",
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_777_622_409),
        );
        std::fs::write(
            dir.join(files::file_name("2026-05-01", 0)),
            format!("{}\n{}\n", first.to_json(), result.to_json()),
        )
        .unwrap();
        let q = Query::parse(&[], &NumberPlan::default(), SystemTime::now()).unwrap();
        let r = build(&dir, &q).unwrap();
        assert_eq!(r.calls, 1);
        let row = &r.by_caller[0];
        assert_eq!(row.calls, 1);
        assert_eq!(row.outcomes["challenged"], 1);
        assert_eq!(row.outcomes["challenge-failed"], 1);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
