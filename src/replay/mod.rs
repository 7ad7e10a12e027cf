//! The offline replay: past calls run through the engine in time order, on
//! a clock set to each call's time, with the decision function the module
//! itself uses ([`crate::screen_call::screen_call`]), so rate limits,
//! penalties and schedules act as they would have live.

use std::cell::Cell;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::engine::Engine;
use crate::history::{CallRecord, Format, HistoryError, HistoryReader, ReadOptions, TimeOrder};
use crate::screen_call::screen_call;
use crate::summary::{Outcome, PrefixRule, Summary};
use crate::verdict::Verdict;

pub mod diff;
pub mod out;
pub mod progress;

pub use diff::{diff, DiffSummary};
pub use out::VerdictWriter;
pub use progress::{CountingReader, Progress};

/// A replay's own screening state: the engine, and (as the module grows
/// limiter and penalty state) that state too, fresh at the start of the
/// replay and driven only by the history's clock.
pub struct Twin {
    engine: Engine,
}

/// The seed of random reply picks in a replay: replays are reproducible, and
/// a service started with the same seed (`StartOptions::reply_seed`) picks the
/// same replies for the same calls.
pub const REPLAY_SEED: u64 = 0x5EED_CA11;

impl Twin {
    /// A twin of the module running `engine`.
    pub fn new(engine: Engine) -> Twin {
        Twin { engine }
    }

    /// The engine.
    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Screens a past call at its own time, as the module would have.
    pub fn screen(&mut self, call: &CallRecord) -> Verdict<'_> {
        call.with_facts(|facts| screen_call(&self.engine, facts, call.time))
    }
}

/// A verdict seen as the summaries see it.
pub fn outcome_of<'a>(call: &'a CallRecord, v: &'a Verdict<'_>) -> Outcome<'a> {
    Outcome {
        time: call.time,
        caller: v.caller,
        caller_number: call.caller_number(),
        destination: call.destination(),
        profile: v.profile,
        verdict: v.action.as_str(),
        rule: v.rule_name(),
        reason: v.reason.as_str(),
        reply: v.reply_name(),
        limit: v.limit.map_or("", |h| h.limit.name.as_str()),
        shadow: shadow_of(v),
        line: call.line,
    }
}

/// What a shadow rule or shadow limit would have done to an allowed call:
/// the name of the shadow rule that would have blocked it, else of the
/// shadow limit that would have refused it; empty otherwise.
fn shadow_of<'a>(v: &'a Verdict<'_>) -> &'a str {
    if v.action != crate::config::Action::Allow {
        return "";
    }
    match (v.shadow, &v.shadow_limit) {
        (Some(rule), _) if rule.action == crate::config::Action::Block => &rule.name,
        (_, Some(hit)) => &hit.limit.name,
        _ => "",
    }
}

/// An input history, opened for streaming.
pub struct HistoryInput {
    /// Calls in time order.
    pub calls: TimeOrder<Box<dyn BufRead>>,
    /// Bytes read so far (for the progress bar).
    pub bytes_read: Rc<Cell<u64>>,
    /// The file's size, when it is a file.
    pub size: Option<u64>,
}

/// How to read a history.
#[derive(Clone, Copy, Debug)]
pub struct InputOptions {
    /// The format, or `None` to go by the file name, then the content.
    pub format: Option<Format>,
    /// Offset of times written without a zone.
    pub read: ReadOptions,
    /// Reorder window, in calls.
    pub window: usize,
}

/// Opens a history file (`-` for standard input).
pub fn open_history(path: &str, options: InputOptions) -> Result<HistoryInput, HistoryError> {
    let io_error = |error| HistoryError::Io {
        source_name: path.to_string(),
        error,
    };
    let (raw, size): (Box<dyn Read>, Option<u64>) = if path == "-" {
        (Box::new(std::io::stdin()), None)
    } else {
        let f = File::open(Path::new(path)).map_err(io_error)?;
        let size = f.metadata().ok().map(|m| m.len());
        (Box::new(f), size)
    };
    let bytes_read = Rc::new(Cell::new(0));
    let mut reader: Box<dyn BufRead> = Box::new(BufReader::with_capacity(
        256 * 1024,
        CountingReader::new(raw, bytes_read.clone()),
    ));
    let format = match options.format.or_else(|| Format::from_name(path)) {
        Some(f) => f,
        None => Format::sniff(reader.fill_buf().map_err(io_error)?),
    };
    let history = HistoryReader::new(format, reader, path, options.read);
    Ok(HistoryInput {
        calls: TimeOrder::new(history, path, options.window),
        bytes_read,
        size,
    })
}

/// Why a replay stopped.
#[derive(Debug)]
pub enum ReplayError {
    /// The history could not be read.
    History(HistoryError),
    /// The verdicts could not be written.
    Output(std::io::Error),
}

impl std::fmt::Display for ReplayError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReplayError::History(e) => write!(f, "{e}"),
            ReplayError::Output(e) => write!(f, "cannot write the verdicts: {e}"),
        }
    }
}

impl std::error::Error for ReplayError {}

impl From<HistoryError> for ReplayError {
    fn from(e: HistoryError) -> Self {
        ReplayError::History(e)
    }
}

/// What a replay found.
pub struct ReplayReport {
    /// The summaries.
    pub summary: Summary,
    /// Calls that were out of order in the file and put back in order.
    pub reordered: u64,
    /// Wall time of the replay (reading, screening, counting, writing).
    pub elapsed: Duration,
}

impl ReplayReport {
    /// Calls per second, end to end.
    pub fn calls_per_second(&self) -> f64 {
        self.summary.calls as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// How to summarise a replay.
#[derive(Clone, Copy, Debug, Default)]
pub struct SummaryOptions {
    /// How prefixes are cut.
    pub prefix_rule: PrefixRule,
    /// Offset hours and days are counted in; `None`: the first call's own
    /// offset, else the offset assumed for times without a zone.
    pub offset: Option<i32>,
}

/// Replays every call of `input` through `twin`, summarising, and writing
/// one verdict per call to `out` if given. The progress bar is wiped at the
/// end, whether the replay finished or stopped on an error.
pub fn replay<W: Write>(
    twin: &mut Twin,
    input: &mut TimeOrder<impl BufRead>,
    options: SummaryOptions,
    assumed_offset: i32,
    out: Option<&mut VerdictWriter<W>>,
    progress: &mut Progress,
) -> Result<ReplayReport, ReplayError> {
    let result = replay_calls(twin, input, options, assumed_offset, out, progress);
    progress.finish();
    result
}

fn replay_calls<W: Write>(
    twin: &mut Twin,
    input: &mut TimeOrder<impl BufRead>,
    options: SummaryOptions,
    assumed_offset: i32,
    mut out: Option<&mut VerdictWriter<W>>,
    progress: &mut Progress,
) -> Result<ReplayReport, ReplayError> {
    let started = Instant::now();
    let mut summary = Summary::new(options.prefix_rule, options.offset.unwrap_or(0));
    let mut first = true;
    while let Some(call) = input.next_call()? {
        if first {
            summary.offset = options
                .offset
                .unwrap_or(call.offset.unwrap_or(assumed_offset));
            first = false;
        }
        let verdict = twin.screen(call);
        let outcome = outcome_of(call, &verdict);
        summary.add(&outcome);
        if let Some(w) = out.as_deref_mut() {
            w.write(call, &outcome, summary.offset)
                .map_err(ReplayError::Output)?;
        }
        progress.tick(summary.calls);
    }
    Ok(ReplayReport {
        summary,
        reordered: input.reordered(),
        elapsed: started.elapsed(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    const YAML: &str = "lists:\n  family: [\"+8613800138000\"]\n  pool: [\"+86170*\"]\nreplies:\n  busy: {kind: reject, cause: USER_BUSY}\nrules:\n  - name: family\n    caller_in: family\n    action: allow\n  - name: pool\n    caller_in: pool\n    action: block\n    reply: busy\n  - name: withheld\n    caller_is: anonymous\n    action: block\n";

    /// Replays a CSV history; the report and the verdicts written as CSV.
    fn replay_csv(twin: &mut Twin, history: &str) -> (ReplayReport, String) {
        let reader = HistoryReader::new(
            Format::Csv,
            history.as_bytes(),
            "h.csv",
            ReadOptions::default(),
        );
        let mut order = TimeOrder::new(reader, "h.csv", 16);
        let mut writer = VerdictWriter::new(Vec::new(), Format::Csv).unwrap();
        let report = replay(
            twin,
            &mut order,
            SummaryOptions::default(),
            0,
            Some(&mut writer),
            &mut Progress::hidden(),
        )
        .unwrap();
        (report, String::from_utf8(writer.finish().unwrap()).unwrap())
    }

    fn twin() -> Twin {
        Twin::new(Engine::new(
            Config::parse(YAML, Path::new("t.yaml")).unwrap(),
        ))
    }

    #[test]
    fn a_replay_summarises_and_writes_a_verdict_per_call() {
        let history = "time,caller,destination\n\
            2024-05-01T09:00:00+08:00,13800138000,4000\n\
            2024-05-01T09:01:00+08:00,017012345678,4000\n\
            2024-05-01T09:00:30+08:00,anonymous,4000\n";
        let (report, text) = replay_csv(&mut twin(), history);
        let s = &report.summary;
        assert_eq!(s.calls, 3);
        assert_eq!(
            s.offset,
            8 * 3600,
            "hours are counted in the history's zone"
        );
        assert_eq!(s.by_rule.get("pool"), 1);
        assert_eq!(s.by_reply.get("busy"), 1);
        assert_eq!(s.by_reply.get("rejected"), 1);
        assert_eq!(report.reordered, 1);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], out::COLUMNS.join(","));
        // In time order: the anonymous call (line 4) before the pool call.
        assert!(
            lines[2].starts_with("4,2024-05-01T09:00:30+08:00,anonymous,"),
            "{}",
            lines[2]
        );
        assert!(
            lines[3].ends_with(",block,pool,list,busy,,"),
            "{}",
            lines[3]
        );
    }

    /// The `profile` column shows the profile whose rules decided, whether
    /// the history asked for it or the engine routed the call to it by its
    /// destination.
    #[test]
    fn the_profile_written_is_the_one_the_engine_chose() {
        let yaml = "lists:\n  pool: [\"+86170*\"]\nrules:\n  - name: pool\n    caller_in: pool\n    action: block\n\
            profiles:\n  courier-line:\n    destination: \"+8613300001111\"\n    rules:\n      - name: courier-pool\n        caller_in: pool\n        action: allow\n";
        let mut twin = Twin::new(Engine::new(
            Config::parse(yaml, Path::new("p.yaml")).unwrap(),
        ));
        let history = "time,caller,destination,profile\n\
            0,017012345678,013300001111,\n\
            1,017012345678,4000,\n\
            2,017012345678,4000,courier-line\n\
            3,017012345678,4000,no-such-profile\n";
        let (_, text) = replay_csv(&mut twin, history);
        let column = out::COLUMNS.iter().position(|c| *c == "profile").unwrap();
        let profiles: Vec<&str> = text
            .lines()
            .skip(1)
            .map(|l| l.split(',').nth(column).unwrap())
            .collect();
        assert_eq!(
            profiles,
            ["courier-line", "default", "courier-line", "default"]
        );
    }

    /// A buffer the progress bar draws into, readable by the test.
    #[derive(Clone, Default)]
    struct Screen(Rc<std::cell::RefCell<Vec<u8>>>);

    impl Write for Screen {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    /// A replay that stops on a bad line wipes its progress bar, so the
    /// error is not printed after a half-drawn bar.
    #[test]
    fn the_progress_bar_is_wiped_when_a_replay_stops_on_an_error() {
        let mut history = String::from("time,caller,destination\n");
        for i in 0..progress::TICK_EVERY + 10 {
            history.push_str(&format!("{i},13800138000,4000\n"));
        }
        history.push_str("soon,13800138000,4000\n");
        let reader = HistoryReader::new(
            Format::Csv,
            history.as_bytes(),
            "h.csv",
            ReadOptions::default(),
        );
        let mut order = TimeOrder::new(reader, "h.csv", 0);
        let screen = Screen::default();
        let mut progress = Progress::drawing_to(Box::new(screen.clone()));
        let err = replay::<std::io::Sink>(
            &mut twin(),
            &mut order,
            SummaryOptions::default(),
            0,
            None,
            &mut progress,
        )
        .err()
        .expect("the bad line stops the replay");
        assert!(err.to_string().starts_with("h.csv:"), "{err}");
        let drawn = String::from_utf8(screen.0.borrow().clone()).unwrap();
        assert!(drawn.contains(" calls/s"), "the bar was drawn: {drawn:?}");
        assert!(
            drawn.ends_with(&format!("\r{:78}\r", "")),
            "and wiped: {drawn:?}"
        );
    }
}
