//! The evidence ledger: one JSON line per blocked, limited, challenged or
//! shadow-matched call, for a complaint to a regulator.
//!
//! The call's thread only [`Ledger::try_record`]s: a non-blocking push onto a
//! bounded queue. A dedicated thread (`callscreen-ledger`, started by
//! [`Ledger::start`] and joined by [`Ledger::stop`]) writes each record with
//! one `write` (so it is in the OS as soon as it is taken off the queue),
//! syncs per [`FsyncPolicy`], and rotates files by UTC day and by size
//! (see [`files`]). A full queue drops the record and counts it; it never
//! blocks a call.

pub mod files;
mod record;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

pub(crate) use record::counters_of;
pub use record::{LedgerRecord, Outcome};

/// When the writer forces records to disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// After every record: nothing acknowledged by the writer is lost.
    Always,
    /// At most this long after a record (and when the writer stops).
    Interval(Duration),
    /// Never explicitly: the OS writes back when it likes.
    Never,
}

impl std::fmt::Display for FsyncPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FsyncPolicy::Always => f.write_str("always"),
            FsyncPolicy::Interval(d) => {
                write!(f, "interval {}", crate::durations::format_duration(*d))
            }
            FsyncPolicy::Never => f.write_str("never"),
        }
    }
}

/// What the writer needs to know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerSettings {
    /// Directory of the ledger files.
    pub dir: PathBuf,
    /// Sync policy.
    pub fsync: FsyncPolicy,
    /// Start a new file past this many bytes.
    pub max_file_size: u64,
    /// Queue capacity.
    pub queue_size: usize,
}

/// Counters of a ledger, readable while it runs.
#[derive(Debug, Default)]
pub struct LedgerStats {
    /// Records accepted onto the queue.
    pub queued: AtomicU64,
    /// Records written to a file.
    pub written: AtomicU64,
    /// Records dropped because the queue was full (or the writer stopped).
    pub dropped: AtomicU64,
    /// Records that could not be written (I/O errors).
    pub failed: AtomicU64,
    /// fsync calls made.
    pub syncs: AtomicU64,
    /// Records waiting on the queue now.
    pub depth: AtomicUsize,
    /// The last write error, if any.
    pub last_error: Mutex<Option<String>>,
    /// The file being written.
    pub current_file: Mutex<Option<PathBuf>>,
}

impl LedgerStats {
    fn get(c: &AtomicU64) -> u64 {
        c.load(Ordering::Relaxed)
    }

    /// Records dropped so far.
    pub fn dropped(&self) -> u64 {
        Self::get(&self.dropped)
    }

    /// Records written so far.
    pub fn written(&self) -> u64 {
        Self::get(&self.written)
    }

    /// The last write error.
    pub fn last_error(&self) -> Option<String> {
        self.last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

enum Message {
    Record(Box<LedgerRecord>),
    Flush(SyncSender<()>),
    Stop,
}

/// A running ledger: the queue's sending end and the writer thread.
pub struct Ledger {
    settings: LedgerSettings,
    sender: SyncSender<Message>,
    stats: Arc<LedgerStats>,
    writer: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Ledger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ledger")
            .field("settings", &self.settings)
            .finish()
    }
}

impl Ledger {
    /// Creates the directory and starts the writer thread.
    pub fn start(settings: LedgerSettings) -> std::io::Result<Ledger> {
        crate::journal::create_dir_durable(&settings.dir)?;
        let (ledger, receiver) = Ledger::queue_only(settings);
        ledger.spawn_writer(receiver)?;
        Ok(ledger)
    }

    fn queue_only(settings: LedgerSettings) -> (Ledger, Receiver<Message>) {
        // Exactly `queue_size` slots, all for records: a record that finds
        // them full is dropped and counted. Flush and Stop need no spare
        // slot: they are sent blocking, so after a burst they wait for the
        // writer to make room.
        let (sender, receiver) = mpsc::sync_channel(settings.queue_size.max(1));
        let ledger = Ledger {
            settings,
            sender,
            stats: Arc::new(LedgerStats::default()),
            writer: Mutex::new(None),
        };
        (ledger, receiver)
    }

    fn spawn_writer(&self, receiver: Receiver<Message>) -> std::io::Result<()> {
        let settings = self.settings.clone();
        let stats = self.stats.clone();
        let handle = std::thread::Builder::new()
            .name("callscreen-ledger".into())
            .spawn(move || writer::run(settings, receiver, stats))?;
        *self.writer.lock().unwrap_or_else(|p| p.into_inner()) = Some(handle);
        Ok(())
    }

    /// Queues a record without ever blocking; `false` (and counted) if the
    /// queue is full or the writer has stopped.
    pub fn try_record(&self, record: LedgerRecord) -> bool {
        // Count first, so the writer never sees depth go below zero.
        self.stats.depth.fetch_add(1, Ordering::Relaxed);
        match self.sender.try_send(Message::Record(Box::new(record))) {
            Ok(()) => {
                self.stats.queued.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => {
                self.stats.depth.fetch_sub(1, Ordering::Relaxed);
                self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Waits until every record queued so far is written and synced (for
    /// `report` and tests; never called on a call's thread).
    pub fn flush(&self) {
        let (ack, done) = mpsc::sync_channel(1);
        if self.sender.send(Message::Flush(ack)).is_ok() {
            let _ = done.recv_timeout(Duration::from_secs(30));
        }
    }

    /// Writes what is queued, syncs, and joins the writer thread. Records
    /// offered afterwards are counted as dropped.
    pub fn stop(&self) {
        let handle = self.writer.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(handle) = handle {
            let _ = self.sender.send(Message::Stop);
            let _ = handle.join();
        }
    }

    /// The counters.
    pub fn stats(&self) -> &LedgerStats {
        &self.stats
    }

    /// The settings it runs with.
    pub fn settings(&self) -> &LedgerSettings {
        &self.settings
    }

    /// The directory of its files.
    pub fn dir(&self) -> &Path {
        &self.settings.dir
    }
}

impl Drop for Ledger {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{SystemTime, UNIX_EPOCH};

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("callscreen-ledger-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    fn settings(dir: &Path, fsync: FsyncPolicy) -> LedgerSettings {
        LedgerSettings {
            dir: dir.to_path_buf(),
            fsync,
            max_file_size: 64 << 20,
            queue_size: 64,
        }
    }

    fn record(time: SystemTime, caller: &str) -> LedgerRecord {
        LedgerRecord {
            time: crate::timefmt::iso8601_utc_millis(time),
            caller_number: caller.to_string(),
            caller: format!("+{caller}"),
            verdict: "block".into(),
            rule: "r".into(),
            reason: "list".into(),
            outcome: Outcome::Blocked,
            ..LedgerRecord::default()
        }
    }

    fn lines(dir: &Path) -> Vec<String> {
        files::list(dir)
            .unwrap()
            .iter()
            .flat_map(|p| {
                std::fs::read_to_string(p)
                    .unwrap()
                    .lines()
                    .map(str::to_string)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    #[test]
    fn records_are_written_one_line_each_in_order() {
        let dir = temp("order");
        let ledger = Ledger::start(settings(&dir, FsyncPolicy::Always)).unwrap();
        let now = SystemTime::now();
        for i in 0..10 {
            assert!(ledger.try_record(record(now, &format!("8617000000{i:02}"))));
        }
        ledger.flush();
        let got = lines(&dir);
        assert_eq!(got.len(), 10);
        for (i, line) in got.iter().enumerate() {
            let r: LedgerRecord = serde_json::from_str(line).unwrap();
            assert_eq!(r.caller_number, format!("8617000000{i:02}"));
        }
        assert_eq!(ledger.stats().written(), 10);
        assert_eq!(ledger.stats().dropped(), 0);
        ledger.stop();
    }

    #[test]
    fn fsync_policy_decides_how_often_the_writer_syncs() {
        let now = SystemTime::now();
        let run = |name: &str, policy: FsyncPolicy| -> u64 {
            let dir = temp(name);
            let ledger = Ledger::start(settings(&dir, policy)).unwrap();
            for _ in 0..5 {
                ledger.try_record(record(now, "8617000000"));
            }
            // Wait for the writes without asking for a sync.
            while ledger.stats().written() < 5 {
                std::thread::sleep(Duration::from_millis(5));
            }
            let syncs = ledger.stats().syncs.load(Ordering::Relaxed);
            ledger.stop();
            syncs
        };
        assert_eq!(run("always", FsyncPolicy::Always), 5);
        assert_eq!(run("never", FsyncPolicy::Never), 0);
        // A long interval: nothing synced yet after the first write's window.
        assert_eq!(
            run("interval", FsyncPolicy::Interval(Duration::from_secs(3600))),
            0
        );
    }

    #[test]
    fn files_rotate_by_day_and_by_size() {
        let dir = temp("rotate");
        let mut s = settings(&dir, FsyncPolicy::Never);
        s.max_file_size = 600;
        let ledger = Ledger::start(s).unwrap();
        let day1 = UNIX_EPOCH + Duration::from_secs(1_709_164_800); // 2024-02-29
        let day2 = day1 + Duration::from_secs(86_400);
        for _ in 0..6 {
            ledger.try_record(record(day1, "8617000000"));
        }
        ledger.try_record(record(day2, "8617000001"));
        ledger.flush();
        let names: Vec<String> = files::list(&dir)
            .unwrap()
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert!(names.len() >= 3, "{names:?}");
        assert_eq!(names[0], "ledger-2024-02-29.jsonl");
        assert_eq!(names[1], "ledger-2024-02-29.1.jsonl");
        assert_eq!(names.last().unwrap(), "ledger-2024-03-01.jsonl");
        for p in files::list(&dir).unwrap() {
            let size = std::fs::metadata(&p).unwrap().len();
            assert!(size <= 600, "{} is {size} bytes", p.display());
        }
        assert_eq!(lines(&dir).len(), 7);
        ledger.stop();
        // A restarted writer continues the day's last file.
        let ledger = Ledger::start(settings(&dir, FsyncPolicy::Never)).unwrap();
        ledger.try_record(record(day1, "8617000002"));
        ledger.flush();
        let last_day1 = files::list(&dir).unwrap()[names.len() - 2].clone();
        assert!(std::fs::read_to_string(last_day1)
            .unwrap()
            .contains("8617000002"));
    }

    #[test]
    fn a_full_queue_drops_and_counts_without_blocking() {
        let dir = temp("overflow");
        std::fs::create_dir_all(&dir).unwrap();
        let mut s = settings(&dir, FsyncPolicy::Never);
        s.queue_size = 3;
        // The writer is not running yet, so the queue fills up.
        let (ledger, receiver) = Ledger::queue_only(s);
        let now = SystemTime::now();
        let accepted = (0..10)
            .filter(|_| ledger.try_record(record(now, "8617000000")))
            .count();
        // Exactly queue_size records fit: no slot is kept spare.
        assert_eq!(accepted, 3);
        assert_eq!(ledger.stats().dropped(), 7);
        assert_eq!(ledger.stats().depth.load(Ordering::Relaxed), 3);
        // A flush asked while the queue is full waits for room, then
        // returns once the writer has written everything before it.
        std::thread::scope(|scope| {
            let flushing = scope.spawn(|| ledger.flush());
            std::thread::sleep(Duration::from_millis(20));
            assert!(!flushing.is_finished(), "a flush needs the writer");
            ledger.spawn_writer(receiver).unwrap();
            flushing.join().unwrap();
        });
        assert_eq!(ledger.stats().written(), 3);
        assert_eq!(ledger.stats().depth.load(Ordering::Relaxed), 0);
        ledger.stop();
        // After stop, records are refused and counted, never queued forever.
        assert!(!ledger.try_record(record(now, "8617000000")));
        assert_eq!(ledger.stats().dropped(), 8);
    }
}
