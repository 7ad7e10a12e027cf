//! The operational state a [`Service`](crate::service::Service) keeps beside
//! its engine, all of which survives a reload: runtime lists and their
//! durable store, the evidence ledger, call metrics, and the hooks through
//! which the boundary and the limits code plug in (event sink, logger,
//! penalty box, limiter gauges).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use crate::config::{LoadOptions, Operations};
use crate::events::{penalty_headers, EventSink, PenaltyChange, PENALTY_SUBCLASS};
use crate::ledger::{Ledger, LedgerRecord, LedgerSettings};
use crate::metrics::CallMetrics;
use crate::pattern::Pattern;
use crate::runtime_lists::{RuntimeEntry, RuntimeList, RuntimeLists};
use crate::state_store::{StateStore, StoreError};

/// Severity of a message the service reports through its [`LogSink`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogLevel {
    /// Normal operation.
    Info,
    /// Noteworthy.
    Notice,
    /// Something is wrong but handled.
    Warning,
    /// An operation failed.
    Error,
}

/// Where the service's messages go (FreeSWITCH's log in the module).
pub trait LogSink: Send + Sync {
    /// Logs one message.
    fn log(&self, level: LogLevel, message: &str);
}

/// One entry of the penalty box, as `callscreen list penalty` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PenaltyEntry {
    /// The boxed key (prefix or number).
    pub key: String,
    /// The limit that boxed it.
    pub limit: String,
    /// Until when.
    pub until: SystemTime,
    /// How many times it has been boxed.
    pub strikes: u32,
}

/// What the limits code exposes to `callscreen list penalty`.
pub trait PenaltyBox: Send + Sync {
    /// Keys in the box at `now`.
    fn penalties(&self, now: SystemTime) -> Vec<PenaltyEntry>;
}

/// What the host tells the service at start.
#[derive(Clone, Default)]
pub struct StartOptions {
    /// State directory when the YAML names none (`$${db_dir}/callscreen`).
    pub default_state_dir: Option<PathBuf>,
    /// Where messages go.
    pub logger: Option<Arc<dyn LogSink>>,
    /// Where events go.
    pub events: Option<Arc<dyn EventSink>>,
    /// How audio paths in the config are expanded and checked.
    pub load: LoadOptions,
    /// Seed of the random reply picks (`None`: from the clock); a replay uses
    /// [`crate::replay::REPLAY_SEED`], and a service started with it picks alike.
    pub reply_seed: Option<u64>,
}

impl std::fmt::Debug for StartOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StartOptions")
            .field("default_state_dir", &self.default_state_dir)
            .finish()
    }
}

/// The result of the last reload attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReloadInfo {
    /// When.
    pub at: SystemTime,
    /// What asked for it (`fs_cli`, `reloadxml`, `file change`).
    pub source: String,
    /// Whether it succeeded.
    pub ok: bool,
    /// The summary or the error.
    pub message: String,
}

/// Operational state; see the module documentation.
pub struct Ops {
    /// `runtime-block` / `runtime-allow`, read by every engine.
    pub runtime: Arc<RuntimeLists>,
    /// Call counters and latency.
    pub metrics: CallMetrics,
    options: StartOptions,
    store: RwLock<Option<Arc<StateStore>>>,
    store_note: RwLock<String>,
    ledger: RwLock<Option<Arc<Ledger>>>,
    ledger_note: RwLock<String>,
    verdict_events: AtomicBool,
    penalty_events: AtomicBool,
    penalty_box: RwLock<Option<Arc<dyn PenaltyBox>>>,
    last_reload: Mutex<Option<ReloadInfo>>,
}

impl std::fmt::Debug for Ops {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ops").finish_non_exhaustive()
    }
}

fn read<T: Clone>(lock: &RwLock<T>) -> T {
    lock.read().unwrap_or_else(|p| p.into_inner()).clone()
}

fn write<T>(lock: &RwLock<T>, value: T) {
    *lock.write().unwrap_or_else(|p| p.into_inner()) = value;
}

impl Ops {
    /// Empty state; nothing opened yet.
    pub fn new(options: StartOptions) -> Ops {
        Ops {
            runtime: Arc::new(RuntimeLists::new()),
            metrics: CallMetrics::default(),
            options,
            store: RwLock::new(None),
            store_note: RwLock::new("not opened".into()),
            ledger: RwLock::new(None),
            ledger_note: RwLock::new("not started".into()),
            verdict_events: AtomicBool::new(true),
            penalty_events: AtomicBool::new(true),
            penalty_box: RwLock::new(None),
            last_reload: Mutex::new(None),
        }
    }

    /// Logs through the host's logger, if there is one.
    pub fn log(&self, level: LogLevel, message: &str) {
        if let Some(l) = &self.options.logger {
            l.log(level, message);
        }
    }

    /// The state directory `settings` ask for.
    pub fn state_dir(&self, settings: &Operations) -> Option<PathBuf> {
        settings
            .state
            .dir
            .clone()
            .or_else(|| self.options.default_state_dir.clone())
    }

    /// The ledger settings `settings` ask for, if the ledger can run.
    pub fn ledger_settings(&self, settings: &Operations) -> Option<LedgerSettings> {
        let l = &settings.ledger;
        if !l.enabled {
            return None;
        }
        let dir = l
            .dir
            .clone()
            .or_else(|| self.state_dir(settings).map(|d| d.join("ledger")))?;
        Some(LedgerSettings {
            dir,
            fsync: l.fsync,
            max_file_size: l.max_file_size,
            queue_size: l.queue_size,
        })
    }

    /// Opens the state directory and replays the journal (once, at start).
    pub fn open_state(&self, settings: &Operations, now: SystemTime) {
        let Some(dir) = self.state_dir(settings) else {
            write(
                &self.store_note,
                "memory only: no state directory (set state.dir)".to_string(),
            );
            self.log(
                LogLevel::Warning,
                "mod_callscreen: no state directory; runtime entries will not survive a restart (set state.dir)",
            );
            return;
        };
        match StateStore::open(&dir, &self.runtime, settings.state.compact_after, now) {
            Ok((store, report)) => {
                if let Some(torn) = &report.torn {
                    self.log(
                        LogLevel::Warning,
                        &format!("mod_callscreen: state journal {}: {torn}", dir.display()),
                    );
                }
                for damaged in &report.damaged {
                    self.log(
                        LogLevel::Warning,
                        &format!("mod_callscreen: state journal {}: {damaged}", dir.display()),
                    );
                }
                for why in &report.skipped {
                    self.log(
                        LogLevel::Warning,
                        &format!(
                            "mod_callscreen: state journal {}: skipped {why}",
                            dir.display()
                        ),
                    );
                }
                self.log(
                    LogLevel::Info,
                    &format!(
                        "mod_callscreen: state {}: {} runtime entries restored ({} expired while down), {} penalties",
                        dir.display(),
                        report.entries,
                        report.expired,
                        report.penalties
                    ),
                );
                write(
                    &self.store_note,
                    format!(
                        "journal {}",
                        store.dir().join(crate::state_store::JOURNAL_FILE).display()
                    ),
                );
                write(&self.store, Some(Arc::new(store)));
            }
            Err(err) => {
                self.log(
                    LogLevel::Error,
                    &format!("mod_callscreen: state not durable: {err}; runtime entries are kept in memory only"),
                );
                write(&self.store_note, format!("memory only: {err}"));
            }
        }
    }

    /// Applies the settings of a (re)loaded config: event switches,
    /// compaction threshold, and the ledger (restarted when its settings
    /// changed; records queued meanwhile go to the old writer, which drains).
    pub fn apply(&self, settings: &Operations) {
        self.verdict_events
            .store(settings.events.verdict, Ordering::Relaxed);
        self.penalty_events
            .store(settings.events.penalty, Ordering::Relaxed);
        if let Some(store) = self.store() {
            store.set_compact_after(settings.state.compact_after);
            if self.state_dir(settings).as_deref() != Some(store.dir()) {
                self.log(
                    LogLevel::Warning,
                    "mod_callscreen: state.dir changed; it takes effect when the module is loaded again",
                );
            }
        }
        let wanted = self.ledger_settings(settings);
        let current = self.ledger();
        if wanted.as_ref() == current.as_ref().map(|l| l.settings()) {
            return;
        }
        let next = match wanted {
            Some(s) => match Ledger::start(s.clone()) {
                Ok(l) => {
                    write(&self.ledger_note, format!("writing to {}", s.dir.display()));
                    Some(Arc::new(l))
                }
                Err(e) => {
                    let msg = format!("{}: cannot start the ledger: {e}", s.dir.display());
                    self.log(LogLevel::Error, &format!("mod_callscreen: {msg}"));
                    write(&self.ledger_note, format!("off: {msg}"));
                    None
                }
            },
            None => {
                write(
                    &self.ledger_note,
                    if settings.ledger.enabled {
                        "off: no directory (set ledger.dir or state.dir)".to_string()
                    } else {
                        "off (ledger.enabled: false)".to_string()
                    },
                );
                None
            }
        };
        let old = std::mem::replace(
            &mut *self.ledger.write().unwrap_or_else(|p| p.into_inner()),
            next,
        );
        if let Some(old) = old {
            old.stop();
        }
    }

    /// Stops the ledger writer (joins its thread).
    pub fn shutdown(&self) {
        let old = self
            .ledger
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(old) = old {
            old.stop();
        }
    }

    /// The durable store, when the state directory could be opened.
    pub fn store(&self) -> Option<Arc<StateStore>> {
        read(&self.store)
    }

    /// How runtime state is kept, for `status`.
    pub fn store_note(&self) -> String {
        read(&self.store_note)
    }

    /// The running ledger.
    pub fn ledger(&self) -> Option<Arc<Ledger>> {
        read(&self.ledger)
    }

    /// The ledger's state, for `status`.
    pub fn ledger_note(&self) -> String {
        read(&self.ledger_note)
    }

    /// Hands a record to the ledger without blocking (call's thread).
    pub fn ledger_record(&self, record: LedgerRecord) {
        if let Some(l) = self
            .ledger
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
        {
            l.try_record(record);
        }
    }

    /// Whether `callscreen::verdict` events are fired.
    pub fn verdict_events(&self) -> bool {
        self.verdict_events.load(Ordering::Relaxed) && self.options.events.is_some()
    }

    /// Fires an event if there is a sink.
    pub fn fire(&self, subclass: &'static str, headers: &[(&'static str, String)]) {
        if let Some(sink) = &self.options.events {
            sink.fire(subclass, headers);
        }
    }

    /// Announces a penalty-box change: fires `callscreen::penalty` and, with
    /// `persisted`, keeps the entry in the journal (or clears it). The
    /// limits code keeps penalties in its own state file and passes `None`.
    pub fn penalty_changed(&self, change: &PenaltyChange, persisted: Option<serde_json::Value>) {
        if self.penalty_events.load(Ordering::Relaxed) {
            self.fire(PENALTY_SUBCLASS, &penalty_headers(change));
        }
        if let Some(store) = self.store() {
            let result = match (change.entered, persisted) {
                (true, Some(value)) => store.put_penalty(&change.key, value),
                _ => store.clear_penalty(&change.key),
            };
            if let Err(e) = result {
                self.log(
                    LogLevel::Error,
                    &format!("mod_callscreen: penalty {} not persisted: {e}", change.key),
                );
            }
        }
    }

    /// Installs the penalty box `list penalty` asks (the limits code).
    pub fn set_penalty_box(&self, pb: Option<Arc<dyn PenaltyBox>>) {
        write(&self.penalty_box, pb);
    }

    /// The penalty box, if one is installed.
    pub fn penalty_box(&self) -> Option<Arc<dyn PenaltyBox>> {
        read(&self.penalty_box)
    }

    /// Adds a runtime entry: journal first (synced), then memory.
    pub fn add_entry(
        &self,
        entry: RuntimeEntry,
        now: SystemTime,
    ) -> Result<Option<RuntimeEntry>, StoreError> {
        match self.store() {
            Some(store) => self.log_journal_failure(store.add(&self.runtime, entry, now)),
            None => self.runtime.insert(entry).map_err(StoreError::Entry),
        }
    }

    /// Logs a failed journal write (the command answers `-ERR` with it too;
    /// the log keeps it, including a failed roll-back after a failed sync).
    fn log_journal_failure<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        if let Err(StoreError::Journal(e)) = &result {
            self.log(
                LogLevel::Error,
                &format!("mod_callscreen: runtime entry not saved: {e}"),
            );
        }
        result
    }

    /// Removes a runtime entry: journal first (synced), then memory.
    pub fn remove_entry(
        &self,
        list: RuntimeList,
        pattern: &Pattern,
        now: SystemTime,
    ) -> Result<Option<RuntimeEntry>, StoreError> {
        match self.store() {
            Some(store) => {
                self.log_journal_failure(store.remove(&self.runtime, list, pattern, now))
            }
            None => Ok(self.runtime.remove(list, pattern)),
        }
    }

    /// Drops expired runtime entries and compacts the journal if it grew.
    pub fn housekeeping(&self, now: SystemTime) {
        for gone in self.runtime.sweep(now) {
            self.log(
                LogLevel::Info,
                &format!(
                    "mod_callscreen: {} entry {} expired",
                    gone.list, gone.pattern
                ),
            );
        }
        if let Some(store) = self.store() {
            if let Err(e) = store.compact_if_needed(&self.runtime, now) {
                self.log(
                    LogLevel::Error,
                    &format!("mod_callscreen: journal compaction failed: {e}"),
                );
            }
        }
    }

    /// Remembers the outcome of a reload.
    pub fn note_reload(&self, info: ReloadInfo) {
        *self.last_reload.lock().unwrap_or_else(|p| p.into_inner()) = Some(info);
    }

    /// The last reload attempt.
    pub fn last_reload(&self) -> Option<ReloadInfo> {
        self.last_reload
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The ledger directory in use (for `report`).
    pub fn ledger_dir(&self) -> Option<PathBuf> {
        self.ledger().map(|l| l.dir().to_path_buf())
    }
}

/// Files whose change triggers a reload when `watch.enabled` is set: the
/// YAML itself and the list files the running config read (`list_files`).
/// A list file named only by a config that failed to load is not watched:
/// touch the YAML after fixing it.
pub fn watched_files(config_path: &Path, list_files: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = Vec::with_capacity(1 + list_files.len());
    files.push(config_path.to_path_buf());
    files.extend(list_files.iter().cloned());
    files
}
