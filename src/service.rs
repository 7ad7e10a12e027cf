//! The module's running state, independent of FreeSWITCH: the current engine
//! (swapped atomically on reload), the last load error, and counters.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use crate::allow_memory::AllowMemory;
use crate::config::{Action, Config, ConfigError, LoadOptions, Operations};
use crate::engine::{CallFacts, Engine};
use crate::events::{verdict_headers, PenaltyChange, VERDICT_SUBCLASS};
use crate::ledger::LedgerRecord;
use crate::limits::notices::{ChangeReason, PenaltyNotice};
use crate::limits::saver::Saver;
use crate::limits::store::{Cleared, LimitStore};
use crate::limits::unix_seconds;
use crate::maintenance::Maintenance;
use crate::ops::{LogLevel, Ops, ReloadInfo, StartOptions};
use crate::verdict::Verdict;

/// Name of the limit state file in the state directory.
pub const LIMITS_STATE_FILE: &str = "callscreen-limits.state";

/// What a successful (re)load produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadSummary {
    /// Rules in the config.
    pub rules: usize,
    /// Named lists.
    pub lists: usize,
    /// Distinct list entries.
    pub entries: usize,
    /// Named replies (including the built-in one).
    pub replies: usize,
    /// Warnings about the config (audio paths that could not be checked).
    pub notes: Vec<String>,
}

impl LoadSummary {
    fn of(engine: &Engine) -> LoadSummary {
        LoadSummary {
            notes: engine.config().notes.clone(),
            rules: engine.rule_count(),
            lists: engine.config().defined_list_count(),
            entries: engine.entry_count(),
            replies: engine.config().replies.len(),
        }
    }
}

/// Call counters since the module was loaded.
#[derive(Debug, Default)]
pub struct Stats {
    /// Calls the app screened (any outcome).
    pub screened: AtomicU64,
    /// Calls allowed.
    pub allowed: AtomicU64,
    /// Calls blocked (acted on or advised).
    pub blocked: AtomicU64,
    /// Calls let through because no config was loaded.
    pub errors: AtomicU64,
    /// Successful reloads.
    pub reloads_ok: AtomicU64,
    /// Failed reloads.
    pub reloads_failed: AtomicU64,
    /// Calls refused by a limit or its penalty box.
    pub limited: AtomicU64,
    /// Calls a shadow limit would have refused.
    pub shadow_limited: AtomicU64,
}

#[derive(Debug)]
struct Current {
    engine: Option<Arc<Engine>>,
    error: Option<String>,
    loaded_at: Option<SystemTime>,
}

/// Whether a change answered to an operator is on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Persisted {
    /// Written and synced.
    Saved,
    /// No state directory: the change lasts until FreeSWITCH stops.
    MemoryOnly,
    /// Writing failed (the file and the error); the change is in memory only.
    Failed(String),
}

/// The module's state between load and shutdown.
#[derive(Debug)]
pub struct Service {
    config_path: PathBuf,
    load_options: LoadOptions,
    reply_seed: Option<u64>,
    started_at: SystemTime,
    current: RwLock<Current>,
    /// Counters.
    pub stats: Stats,
    /// Runtime lists, durable state, ledger, metrics, hooks (survive reloads).
    pub ops: Ops,
    maintenance: Mutex<Option<Maintenance>>,
    /// Callers who passed a challenge, let through for a while; kept across reloads.
    pub allow_memory: AllowMemory,
    /// Limit counters and penalty box: outlive every engine (reloads).
    limits: Arc<LimitStore>,
    save_interval: Arc<AtomicU32>,
    saver: Mutex<Option<Saver>>,
    state_file: Option<PathBuf>,
    restored: Result<usize, String>,
}

impl Service {
    /// Starts with the config at `path`. A config that cannot be loaded leaves
    /// the service running without one (calls are let through, marked
    /// `error`); the error is returned for the log and kept for `status`.
    pub fn start(path: &Path) -> (Service, Result<LoadSummary, ConfigError>) {
        Service::start_with(path, StartOptions::default())
    }

    /// Starts as [`Service::start`], with the host's defaults and hooks: audio
    /// paths are expanded and checked as `options.load` says (the module passes
    /// FreeSWITCH's global variables) at this load and every reload, the state
    /// directory is opened and its journal replayed, and the ledger writer
    /// thread is started (joined by [`Service::shutdown`]).
    pub fn start_with(
        path: &Path,
        options: StartOptions,
    ) -> (Service, Result<LoadSummary, ConfigError>) {
        let mut service = Service {
            config_path: path.to_path_buf(),
            load_options: options.load.clone(),
            reply_seed: options.reply_seed,
            started_at: SystemTime::now(),
            current: RwLock::new(Current {
                engine: None,
                error: None,
                loaded_at: None,
            }),
            stats: Stats::default(),
            ops: Ops::new(options),
            maintenance: Mutex::new(None),
            allow_memory: AllowMemory::default(),
            limits: Arc::new(LimitStore::new()),
            save_interval: Arc::new(AtomicU32::new(10)),
            saver: Mutex::new(None),
            state_file: None,
            restored: Ok(0),
        };
        // The config says where state lives; limit state must be read before
        // the first engine attaches to it.
        let loaded = Config::load_with(&service.config_path, &service.load_options);
        let settings = loaded
            .as_ref()
            .map(|c| c.operations.clone())
            .unwrap_or_default();
        service.state_file = service
            .ops
            .state_dir(&settings)
            .map(|d| d.join(LIMITS_STATE_FILE));
        if let Some(file) = &service.state_file {
            service.restored = service
                .limits
                .restore(file, unix_seconds(SystemTime::now()));
        }
        let result = service.install(loaded);
        // Penalties restored from the state file end with an event too.
        let now = unix_seconds(SystemTime::now());
        service
            .limits
            .watch
            .remember(
                service
                    .limits
                    .penalties(now, None)
                    .into_iter()
                    .map(|e| PenaltyNotice {
                        limit: e.limit,
                        key: e.key,
                        entered: true,
                        reason: ChangeReason::Tripped,
                        penalty: e.penalty,
                        shadow: e.shadow,
                    }),
            );
        service.limits.watch.enable();
        service.ops.set_penalty_box(Some(
            Arc::clone(&service.limits) as Arc<dyn crate::ops::PenaltyBox>
        ));
        let settings = service.operations();
        service.ops.open_state(&settings, SystemTime::now());
        service.ops.apply(&settings);
        if let Some(file) = &service.state_file {
            match Saver::start(
                Arc::clone(&service.limits),
                file.clone(),
                Arc::clone(&service.save_interval),
            ) {
                Ok(saver) => {
                    *service.saver.get_mut().unwrap_or_else(|p| p.into_inner()) = Some(saver)
                }
                Err(err) => {
                    service.restored = Err(format!("cannot start the state-saving thread: {err}"))
                }
            }
        }
        (service, result)
    }

    /// Like [`start`](Self::start), keeping state (limit counters and
    /// penalties, runtime entries, the ledger) in `state_dir` unless the
    /// config names another directory.
    pub fn start_with_state(
        path: &Path,
        state_dir: Option<&Path>,
    ) -> (Service, Result<LoadSummary, ConfigError>) {
        Service::start_with(
            path,
            StartOptions {
                default_state_dir: state_dir.map(Path::to_path_buf),
                ..StartOptions::default()
            },
        )
    }

    /// Limit counters and the penalty box.
    pub fn limits(&self) -> &LimitStore {
        &self.limits
    }

    /// Where limit state is saved (`None`: kept in memory only).
    pub fn state_file(&self) -> Option<&Path> {
        self.state_file.as_deref()
    }

    /// Keys read from the state file at start, or why it could not be read.
    pub fn restored(&self) -> &Result<usize, String> {
        &self.restored
    }
    /// Starts the background thread (reloadxml / file-change reloads,
    /// expiry sweeps, compaction). The module calls this after load.
    pub fn start_background(self: &Arc<Self>) -> std::io::Result<()> {
        let m = Maintenance::start(Arc::downgrade(self))?;
        self.limits.watch.set_waker(Some(m.waker()));
        *self.maintenance.lock().unwrap_or_else(|p| p.into_inner()) = Some(m);
        Ok(())
    }

    /// Stops and joins every thread the service started (the background
    /// thread and the ledger writer, after it has written what is queued).
    pub fn shutdown(&self) {
        self.limits.watch.set_waker(None);
        let m = self
            .maintenance
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take();
        if let Some(mut m) = m {
            m.stop();
        }
        // Changes queued since the thread's last look.
        self.penalty_housekeeping(SystemTime::now());
        // A last save of the limit state, then the saving thread is joined.
        let saver = self.saver.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(mut saver) = saver {
            if let Err(err) = saver.stop() {
                self.ops.log(
                    LogLevel::Error,
                    &format!("mod_callscreen: saving limit state at shutdown failed: {err}"),
                );
            }
        }
        self.ops.shutdown();
    }

    /// Asks for a reload from another thread (FreeSWITCH's `reloadxml`):
    /// done by the background thread, or here if it is not running.
    pub fn request_reload(&self, source: &str) {
        let guard = self.maintenance.lock().unwrap_or_else(|p| p.into_inner());
        match guard.as_ref() {
            Some(m) => m.request_reload(source),
            None => {
                drop(guard);
                let _ = self.reload_from(source); // logged by reload_from
            }
        }
    }

    /// Reloads and logs the outcome, naming what asked for it.
    pub fn reload_from(&self, source: &str) -> Result<LoadSummary, ConfigError> {
        let result = self.reload_as(source);
        match &result {
            Ok(s) => self.ops.log(
                LogLevel::Notice,
                &format!(
                    "mod_callscreen: reloaded {} ({source}): {} rules, {} lists, {} entries",
                    self.config_path.display(),
                    s.rules,
                    s.lists,
                    s.entries
                ),
            ),
            Err(e) => self.ops.log(
                LogLevel::Error,
                &format!("mod_callscreen: reload ({source}) failed, running config kept: {e}"),
            ),
        }
        result
    }

    /// The operations settings of the running config (defaults without one).
    pub fn operations(&self) -> Operations {
        self.engine()
            .map(|e| e.config().operations.clone())
            .unwrap_or_default()
    }

    /// How often watched files are checked, when watching is on.
    pub fn watch_interval(&self) -> Option<Duration> {
        let engine = self.engine()?;
        let w = &engine.config().operations.watch;
        w.enabled.then_some(w.interval)
    }

    /// Re-reads the config file. On success the new engine replaces the old
    /// one atomically; on failure the running config stays as it was.
    pub fn reload(&self) -> Result<LoadSummary, ConfigError> {
        self.reload_as("fs_cli")
    }

    fn reload_as(&self, source: &str) -> Result<LoadSummary, ConfigError> {
        let result = self.load_and_swap();
        let counter = match result {
            Ok(_) => &self.stats.reloads_ok,
            Err(_) => &self.stats.reloads_failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if result.is_ok() {
            self.ops.apply(&self.operations());
        }
        self.ops.note_reload(ReloadInfo {
            at: SystemTime::now(),
            source: source.to_string(),
            ok: result.is_ok(),
            message: match &result {
                Ok(s) => format!(
                    "{} rules, {} lists, {} entries",
                    s.rules, s.lists, s.entries
                ),
                Err(e) => e.to_string(),
            },
        });
        result
    }

    fn load_and_swap(&self) -> Result<LoadSummary, ConfigError> {
        // Parse and compile outside the lock: calls keep using the old engine.
        self.install(Config::load_with(&self.config_path, &self.load_options))
    }

    /// Puts a freshly loaded config in service (or records why it failed).
    fn install(&self, loaded: Result<Config, ConfigError>) -> Result<LoadSummary, ConfigError> {
        match loaded {
            Ok(config) => {
                self.save_interval
                    .store(config.limiter.save_interval.0.max(1), Ordering::Relaxed);
                let engine = Arc::new(Engine::with_state_and_seed(
                    config,
                    self.ops.runtime.clone(),
                    &self.limits,
                    self.reply_seed,
                ));
                let summary = LoadSummary::of(&engine);
                let mut current = self.write();
                current.engine = Some(engine);
                current.error = None;
                current.loaded_at = Some(SystemTime::now());
                Ok(summary)
            }
            Err(err) => {
                self.write().error = Some(err.to_string());
                Err(err)
            }
        }
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Current> {
        self.current.write().unwrap_or_else(|p| p.into_inner())
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Current> {
        self.current.read().unwrap_or_else(|p| p.into_inner())
    }

    /// The engine calls are screened with, if a config is loaded.
    pub fn engine(&self) -> Option<Arc<Engine>> {
        self.read().engine.clone()
    }

    /// The last load or reload error, if the last attempt failed.
    pub fn last_error(&self) -> Option<String> {
        self.read().error.clone()
    }

    /// The config file this service reads.
    pub fn config_path(&self) -> &Path {
        &self.config_path
    }

    /// When the module started.
    pub fn started_at(&self) -> SystemTime {
        self.started_at
    }

    /// When the running config was loaded.
    pub fn config_loaded_at(&self) -> Option<SystemTime> {
        self.read().loaded_at
    }

    /// Fires `callscreen::penalty` for every key that entered or left the
    /// penalty box since the last call: queued by calls that tripped a limit
    /// and by `penalty clear`, and penalties that ended by `now`. Called by
    /// the background thread (woken by a trip, else every second) and after
    /// `penalty clear`; never on a call's thread.
    pub fn penalty_housekeeping(&self, now: SystemTime) {
        for n in self.limits.watch.drain(unix_seconds(now)) {
            let change = PenaltyChange {
                key: n.key,
                entered: n.entered,
                limit: n.limit,
                until: n.entered.then(|| {
                    std::time::UNIX_EPOCH + Duration::from_secs(u64::from(n.penalty.until))
                }),
                strikes: n.penalty.offences,
                reason: n.reason.as_str(),
                shadow: n.shadow,
            };
            self.ops.penalty_changed(&change, None);
        }
    }

    /// Lifts the penalties of keys written `key` (every key for `None`),
    /// forgets the remembered offences of such keys already released, and
    /// announces the lifts; how many of each, and whether it is on disk. The state
    /// file is written before this returns, so a lift answered `+OK`
    /// survives a crash: the saving thread alone could leave the old
    /// penalty on disk for up to `save_interval`.
    pub fn clear_penalties(&self, key: Option<&str>, now: SystemTime) -> (Cleared, Persisted) {
        let cleared = self.limits.clear(key, unix_seconds(now));
        self.penalty_housekeeping(now);
        let saver = self.saver.lock().unwrap_or_else(|p| p.into_inner());
        let persisted = match saver.as_ref() {
            None => Persisted::MemoryOnly,
            Some(_) if cleared.is_empty() => Persisted::Saved,
            Some(saver) => match self.limits.save(saver.path(), true) {
                Ok(_) => Persisted::Saved,
                Err(err) => Persisted::Failed(format!("{}: {err}", saver.path().display())),
            },
        };
        (cleared, persisted)
    }

    /// Counts a screened call.
    pub fn record(&self, verdict: &Verdict<'_>) {
        self.stats.screened.fetch_add(1, Ordering::Relaxed);
        let counter = match verdict.action {
            Action::Allow => &self.stats.allowed,
            Action::Block => &self.stats.blocked,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if verdict.limit.is_some() {
            self.stats.limited.fetch_add(1, Ordering::Relaxed);
        }
        if verdict.shadow_limit.is_some() {
            self.stats.shadow_limited.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Counts a call let through because no config is loaded.
    pub fn record_error(&self) {
        self.stats.screened.fetch_add(1, Ordering::Relaxed);
        self.stats.errors.fetch_add(1, Ordering::Relaxed);
        self.ops.metrics.verdict.inc("error");
    }

    /// Records a decision off the call's critical path: metrics, the
    /// ledger (a non-blocking queue push) and the `callscreen::verdict`
    /// event. `took` is how long the decision took.
    pub fn observe(
        &self,
        facts: &CallFacts<'_>,
        verdict: &Verdict<'_>,
        advised: bool,
        now: SystemTime,
        took: Duration,
    ) {
        self.ops.metrics.record(
            verdict.action.as_str(),
            verdict.rule_name(),
            verdict.reason.as_str(),
            verdict.reply_name(),
            took,
        );
        if let Some(hit) = &verdict.limit {
            self.ops.metrics.limit.inc(&hit.limit.name);
        }
        if let Some(hit) = &verdict.shadow_limit {
            self.ops.metrics.shadow_limit.inc(&hit.limit.name);
        }
        let record = LedgerRecord::of(facts, verdict, advised, now);
        if self.ops.verdict_events() {
            let outcome = record.as_ref().map_or("allowed", |r| r.outcome.as_str());
            self.ops.fire(
                VERDICT_SUBCLASS,
                &verdict_headers(facts, verdict, outcome, advised, took),
            );
            self.ops
                .metrics
                .events_fired
                .fetch_add(1, Ordering::Relaxed);
        }
        if let Some(record) = record {
            self.ops.ledger_record(record);
        }
    }

    /// Records how a challenge went, once the reply has run: a second
    /// ledger line for the call (`first` is its screening line) with outcome
    /// `challenge-passed` or `challenge-failed` and the digits pressed, and
    /// the `callscreen_challenges_total` counter. A caller who hung up
    /// before answering has failed. Like [`observe`](Self::observe), a
    /// non-blocking queue push.
    pub fn record_challenge(
        &self,
        first: &LedgerRecord,
        passed: bool,
        digits: &str,
        now: SystemTime,
    ) {
        self.ops
            .metrics
            .challenge
            .inc(if passed { "passed" } else { "failed" });
        self.ops
            .ledger_record(first.challenge_result(passed, digits, now));
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn write_config(dir: &Path, text: &str) -> PathBuf {
        let path = dir.join("callscreen.yaml");
        let mut f = std::fs::File::create(&path).unwrap();
        f.write_all(text.as_bytes()).unwrap();
        path
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("callscreen-service-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_bad_reload_keeps_the_running_config() {
        let dir = temp_dir("reload");
        let path = write_config(&dir, "rules:\n  - name: a\n    action: block\n");
        let (service, first) = Service::start(&path);
        assert_eq!(first.unwrap().rules, 1);
        let before = service.engine().unwrap();

        write_config(&dir, "rules:\n  - name: a\n    action: blok\n");
        let err = service.reload().unwrap_err().to_string();
        assert!(err.contains("callscreen.yaml:3:13: "), "{err}");
        assert!(Arc::ptr_eq(&before, &service.engine().unwrap()));
        assert_eq!(service.last_error().unwrap(), err);
        assert_eq!(service.stats.reloads_failed.load(Ordering::Relaxed), 1);

        write_config(&dir, "rules: []\n");
        assert_eq!(service.reload().unwrap().rules, 0);
        assert!(service.last_error().is_none());
        assert!(!Arc::ptr_eq(&before, &service.engine().unwrap()));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_missing_config_starts_without_engine() {
        let (service, result) = Service::start(Path::new("/nonexistent/callscreen.yaml"));
        assert!(result.is_err());
        assert!(service.engine().is_none());
        assert!(service.last_error().unwrap().contains("cannot read"));
    }

    /// Keeps every event fired, in order.
    #[derive(Default)]
    struct Recorder(Mutex<Vec<Fired>>);

    /// One event: its subclass and headers.
    type Fired = (String, Vec<(&'static str, String)>);

    impl crate::events::EventSink for Recorder {
        fn fire(&self, subclass: &'static str, headers: &[(&'static str, String)]) {
            self.0
                .lock()
                .unwrap()
                .push((subclass.to_string(), headers.to_vec()));
        }
    }

    impl Recorder {
        /// (key, enter/leave, reason) of the penalty events so far, taken.
        fn penalties(&self) -> Vec<(String, String, String)> {
            let mut all = self.0.lock().unwrap();
            let out = all
                .iter()
                .filter(|(s, _)| s == crate::events::PENALTY_SUBCLASS)
                .map(|(_, h)| {
                    let get = |n: &str| h.iter().find(|(k, _)| *k == n).unwrap().1.clone();
                    (
                        get("Callscreen-Penalty-Key"),
                        get("Callscreen-Penalty-Action"),
                        get("Callscreen-Penalty-Reason"),
                    )
                })
                .collect();
            all.clear();
            out
        }
    }

    const POOLS: &str = "numbering:\n  country_code: \"86\"\nlimits:\n  - name: pools\n    key: caller_prefix\n    digits: 7\n    distinct: 1/1h\n    penalty: 10m\n";

    #[test]
    fn keys_entering_and_leaving_the_penalty_box_fire_penalty_events() {
        let dir = temp_dir("penalty-events");
        let path = write_config(&dir, POOLS);
        let events = Arc::new(Recorder::default());
        let (service, loaded) = Service::start_with(
            &path,
            StartOptions {
                events: Some(events.clone()),
                ..StartOptions::default()
            },
        );
        loaded.unwrap();
        let engine = service.engine().unwrap();
        let t0 = std::time::UNIX_EPOCH + Duration::from_secs(1_714_000_000);
        let call = |caller: &'static str, at| {
            let facts = CallFacts {
                caller_number: caller,
                destination: "4000",
                ..CallFacts::default()
            };
            engine.screen(&facts, at).action
        };
        assert_eq!(call("017012340001", t0), Action::Allow);
        assert_eq!(call("017012340002", t0), Action::Block, "tripped");
        assert_eq!(call("017012340003", t0), Action::Block, "boxed");
        assert_eq!(call("017055550001", t0), Action::Allow);
        assert_eq!(call("017055550002", t0), Action::Block, "tripped");
        // Nothing is fired on the call's thread; the drain fires, once.
        assert!(events.penalties().is_empty());
        service.penalty_housekeeping(t0);
        let enter = |k: &str| (k.to_string(), "enter".to_string(), "tripped".to_string());
        assert_eq!(events.penalties(), [enter("1701234"), enter("1705555")]);
        service.penalty_housekeeping(t0 + Duration::from_secs(599));
        assert!(events.penalties().is_empty(), "still boxed");
        // An operator lifts one; the other runs out.
        assert_eq!(service.clear_penalties(Some("1705555"), t0).0.lifted, 1);
        assert_eq!(
            events.penalties(),
            [("1705555".into(), "leave".into(), "cleared".into())]
        );
        service.penalty_housekeeping(t0 + Duration::from_secs(600));
        assert_eq!(
            events.penalties(),
            [("1701234".into(), "leave".into(), "expired".into())]
        );
        service.penalty_housekeeping(t0 + Duration::from_secs(6000));
        assert!(events.penalties().is_empty(), "announced once");
        drop(engine);
        service.shutdown();
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// Two numbers of one 7-digit block: the second trips POOLS' limit.
    fn trip_pools(engine: &Engine, now: SystemTime) {
        for caller in ["017012340001", "017012340002"] {
            let facts = CallFacts {
                caller_number: caller,
                destination: "4000",
                ..CallFacts::default()
            };
            engine.screen(&facts, now);
        }
    }

    #[test]
    fn a_lifted_penalty_is_on_disk_before_the_command_answers() {
        let dir = temp_dir("penalty-clear-durable");
        let path = write_config(&dir, POOLS);
        let state = dir.join("state");
        let (service, loaded) = Service::start_with_state(&path, Some(&state));
        loaded.unwrap();
        let engine = service.engine().unwrap();
        let now = SystemTime::now();
        trip_pools(&engine, now);
        // What a restart would read from the state file, as it is now.
        let config = Config::load(&path).unwrap();
        let boxed_on_disk = || {
            let store = LimitStore::new();
            store
                .restore(&state.join(LIMITS_STATE_FILE), unix_seconds(now))
                .unwrap();
            let _limiter = store.attach(&config, unix_seconds(now));
            crate::ops::PenaltyBox::penalties(&store, now).len()
        };
        service
            .limits
            .save(&state.join(LIMITS_STATE_FILE), true)
            .unwrap();
        assert_eq!(boxed_on_disk(), 1, "the trip is saved");
        assert_eq!(
            service.clear_penalties(Some("1701234"), now),
            (
                Cleared {
                    lifted: 1,
                    forgotten: 0
                },
                Persisted::Saved
            )
        );
        assert_eq!(boxed_on_disk(), 0, "the lift is saved before the answer");
        drop(engine);
        service.shutdown();
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn without_a_state_directory_a_lift_says_it_is_memory_only() {
        let dir = temp_dir("penalty-clear-memory");
        let path = write_config(&dir, POOLS);
        let (service, loaded) = Service::start_with_state(&path, None);
        loaded.unwrap();
        let engine = service.engine().unwrap();
        let now = SystemTime::now();
        trip_pools(&engine, now);
        assert_eq!(
            service.clear_penalties(None, now),
            (
                Cleared {
                    lifted: 1,
                    forgotten: 0
                },
                Persisted::MemoryOnly
            )
        );
        drop(engine);
        service.shutdown();
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn penalty_events_can_be_switched_off() {
        let dir = temp_dir("penalty-off");
        let path = write_config(&dir, &format!("{POOLS}events:\n  penalty: false\n"));
        let events = Arc::new(Recorder::default());
        let (service, loaded) = Service::start_with(
            &path,
            StartOptions {
                events: Some(events.clone()),
                ..StartOptions::default()
            },
        );
        loaded.unwrap();
        let engine = service.engine().unwrap();
        let t0 = std::time::UNIX_EPOCH + Duration::from_secs(1_714_000_000);
        for caller in ["017012340001", "017012340002"] {
            let facts = CallFacts {
                caller_number: caller,
                ..CallFacts::default()
            };
            engine.screen(&facts, t0);
        }
        service.penalty_housekeeping(t0);
        assert!(events.penalties().is_empty());
        drop(engine);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_changed_list_file_reloads_when_files_are_watched() {
        let dir = temp_dir("watch-lists");
        std::fs::write(dir.join("pools.txt"), "+86170*\n").unwrap();
        let path = write_config(
            &dir,
            "watch:\n  enabled: true\n  interval: 100ms\nlists:\n  pools:\n    file: pools.txt\nrules:\n  - name: pools\n    caller_in: pools\n    action: block\n",
        );
        let (service, loaded) = Service::start(&path);
        assert_eq!(loaded.unwrap().entries, 1);
        let service = Arc::new(service);
        service.start_background().unwrap();
        // Give the thread a first look at the files, then change the list
        // (a different size, so the change shows even where mtimes are coarse).
        std::thread::sleep(Duration::from_millis(300));
        std::fs::write(dir.join("pools.txt"), "+86170*\n+86171*\n").unwrap();
        let reloaded = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(50));
            service.engine().unwrap().entry_count() == 2
        });
        assert!(reloaded, "the list file change was not picked up");
        assert_eq!(service.ops.last_reload().unwrap().source, "file change");
        service.shutdown();
        std::fs::remove_dir_all(dir).unwrap();
    }
}
