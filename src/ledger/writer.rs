//! The ledger's writer thread.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::{files, FsyncPolicy, LedgerSettings, LedgerStats, Message};

struct Open {
    file: File,
    path: PathBuf,
    date: String,
    seq: u32,
    size: u64,
}

struct Writer {
    settings: LedgerSettings,
    stats: Arc<LedgerStats>,
    open: Option<Open>,
    dirty: bool,
    last_sync: Instant,
}

/// Runs until `Stop` arrives or every sender is gone.
pub(super) fn run(settings: LedgerSettings, receiver: Receiver<Message>, stats: Arc<LedgerStats>) {
    let mut w = Writer {
        settings,
        stats,
        open: None,
        dirty: false,
        last_sync: Instant::now(),
    };
    loop {
        let message = match (w.settings.fsync, w.dirty) {
            (FsyncPolicy::Interval(every), true) => {
                let wait = every.saturating_sub(w.last_sync.elapsed());
                match receiver.recv_timeout(wait.max(Duration::from_millis(1))) {
                    Ok(m) => m,
                    Err(RecvTimeoutError::Timeout) => {
                        w.sync();
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                }
            }
            _ => match receiver.recv() {
                Ok(m) => m,
                Err(_) => break,
            },
        };
        match message {
            Message::Record(record) => {
                w.stats.depth.fetch_sub(1, Ordering::Relaxed);
                let mut line = record.to_json();
                line.push('\n');
                let date = record.time.get(..10).unwrap_or("0000-00-00").to_string();
                w.write(&date, line.as_bytes());
            }
            Message::Flush(ack) => {
                if w.settings.fsync != FsyncPolicy::Never {
                    w.sync();
                }
                let _ = ack.send(());
            }
            Message::Stop => break,
        }
    }
    if w.settings.fsync != FsyncPolicy::Never {
        w.sync();
    }
}

impl Writer {
    fn fail(&self, what: String) {
        self.stats.failed.fetch_add(1, Ordering::Relaxed);
        *self
            .stats
            .last_error
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = Some(what);
    }

    fn sync(&mut self) {
        if !self.dirty {
            return;
        }
        if let Some(open) = &self.open {
            if let Err(e) = open.file.sync_data() {
                self.fail(format!("{}: sync failed: {e}", open.path.display()));
            }
            self.stats.syncs.fetch_add(1, Ordering::Relaxed);
        }
        self.dirty = false;
        self.last_sync = Instant::now();
    }

    /// The file a line of `len` bytes dated `date` goes to, opened.
    fn target(&mut self, date: &str, len: u64) -> Option<&mut Open> {
        let reuse = self.open.as_ref().is_some_and(|o| {
            o.date == date && (o.size == 0 || o.size + len <= self.settings.max_file_size)
        });
        if !reuse {
            let seq = match &self.open {
                Some(o) if o.date == date => o.seq + 1,
                _ => files::last_seq(&self.settings.dir, date),
            };
            // Finish the old file before leaving it.
            if self.settings.fsync != FsyncPolicy::Never {
                self.sync();
            }
            self.open = None;
            let mut seq = seq;
            loop {
                let path = self.settings.dir.join(files::file_name(date, seq));
                let existing = std::fs::metadata(&path).ok();
                let size = existing.as_ref().map_or(0, |m| m.len());
                if size > 0 && size + len > self.settings.max_file_size {
                    seq += 1;
                    continue;
                }
                match OpenOptions::new().create(true).append(true).open(&path) {
                    Ok(file) => {
                        // A new file's name is in the directory only once the
                        // directory is synced: without it a power cut could
                        // lose the whole file, synced lines and all.
                        if existing.is_none() && self.settings.fsync != FsyncPolicy::Never {
                            if let Err(e) =
                                File::open(&self.settings.dir).and_then(|d| d.sync_all())
                            {
                                self.fail(format!(
                                    "{}: cannot sync the directory: {e}",
                                    self.settings.dir.display()
                                ));
                            }
                        }
                        *self
                            .stats
                            .current_file
                            .lock()
                            .unwrap_or_else(|p| p.into_inner()) = Some(path.clone());
                        self.open = Some(Open {
                            file,
                            path,
                            date: date.to_string(),
                            seq,
                            size,
                        });
                    }
                    Err(e) => {
                        let _ = std::fs::create_dir_all(&self.settings.dir);
                        self.fail(format!("{}: cannot open: {e}", path.display()));
                    }
                }
                break;
            }
        }
        self.open.as_mut()
    }

    fn write(&mut self, date: &str, line: &[u8]) {
        let Some(open) = self.target(date, line.len() as u64) else {
            return;
        };
        // One write per line: the line reaches the OS whole, at once.
        match open.file.write_all(line) {
            Ok(()) => {
                open.size += line.len() as u64;
                self.dirty = true;
            }
            Err(e) => {
                let path = open.path.display().to_string();
                self.open = None;
                self.fail(format!("{path}: write failed: {e}"));
                return;
            }
        }
        match self.settings.fsync {
            FsyncPolicy::Always => self.sync(),
            FsyncPolicy::Interval(every) if self.last_sync.elapsed() >= every => self.sync(),
            _ => {}
        }
        // Counted once the line is where the fsync policy wants it.
        self.stats.written.fetch_add(1, Ordering::Relaxed);
    }
}
