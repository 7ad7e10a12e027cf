//! The module's running state, independent of FreeSWITCH: the current engine
//! (swapped atomically on reload), the last load error, and counters.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::SystemTime;

use crate::config::{Action, Config, ConfigError};
use crate::engine::Engine;
use crate::limits::saver::Saver;
use crate::limits::store::LimitStore;
use crate::limits::unix_seconds;
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
}

impl LoadSummary {
    fn of(engine: &Engine) -> LoadSummary {
        LoadSummary {
            rules: engine.rule_count(),
            lists: engine.config().lists.len(),
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

/// The module's state between load and shutdown.
#[derive(Debug)]
pub struct Service {
    config_path: PathBuf,
    started_at: SystemTime,
    current: RwLock<Current>,
    /// Counters.
    pub stats: Stats,
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
        Service::start_with_state(path, None)
    }

    /// Like [`start`](Self::start), keeping limit state in
    /// `<state_dir>/callscreen-limits.state`: read now, written by a thread
    /// started here and stopped by [`shutdown`](Self::shutdown).
    pub fn start_with_state(
        path: &Path,
        state_dir: Option<&Path>,
    ) -> (Service, Result<LoadSummary, ConfigError>) {
        let limits = Arc::new(LimitStore::new());
        let state_file = state_dir.map(|d| d.join(LIMITS_STATE_FILE));
        let now = unix_seconds(SystemTime::now());
        let restored = match &state_file {
            Some(file) => limits.restore(file, now),
            None => Ok(0),
        };
        let save_interval = Arc::new(AtomicU32::new(10));
        let mut service = Service {
            config_path: path.to_path_buf(),
            started_at: SystemTime::now(),
            current: RwLock::new(Current {
                engine: None,
                error: None,
                loaded_at: None,
            }),
            stats: Stats::default(),
            limits,
            save_interval,
            saver: Mutex::new(None),
            state_file,
            restored,
        };
        let result = service.load_and_swap();
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

    /// Stops the state-saving thread (joined) after a last save. Call once
    /// before the service is dropped (module shutdown).
    pub fn shutdown(&self) -> std::io::Result<()> {
        let saver = self.saver.lock().unwrap_or_else(|p| p.into_inner()).take();
        match saver {
            Some(mut saver) => saver.stop().map(|_| ()),
            None => Ok(()),
        }
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

    /// Re-reads the config file. On success the new engine replaces the old
    /// one atomically; on failure the running config stays as it was.
    pub fn reload(&self) -> Result<LoadSummary, ConfigError> {
        let result = self.load_and_swap();
        let counter = match result {
            Ok(_) => &self.stats.reloads_ok,
            Err(_) => &self.stats.reloads_failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        result
    }

    fn load_and_swap(&self) -> Result<LoadSummary, ConfigError> {
        // Parse and compile outside the lock: calls keep using the old engine.
        match Config::load(&self.config_path) {
            Ok(config) => {
                self.save_interval
                    .store(config.limiter.save_interval.0.max(1), Ordering::Relaxed);
                let engine = Arc::new(Engine::with_limit_store(config, &self.limits));
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
}
