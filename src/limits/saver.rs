//! The thread that writes the state file, off the calls' threads: every
//! `save_interval` when something changed, soon after a key enters the
//! penalty box, and a last time when it is stopped. It also sweeps idle keys
//! every `save_interval`.
//!
//! A save rewrites the whole file and locks every shard in turn to copy it,
//! so saves are at least [`MIN_SAVE_GAP`] apart: during a flood, when keys
//! trip all the time, the state is written once a gap, not once a trip. The
//! first trip after a quiet spell is written at once.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use super::store::LimitStore;

/// Shortest time between two saves of the saving thread (an operator's
/// `penalty clear` saves at once regardless).
pub const MIN_SAVE_GAP: Duration = Duration::from_secs(1);

/// The running saving thread.
#[derive(Debug)]
pub struct Saver {
    store: Arc<LimitStore>,
    path: PathBuf,
    handle: Option<JoinHandle<()>>,
}

fn unix_now() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(0)
}

impl Saver {
    /// Starts the thread; `interval_secs` is read before each wait, so a
    /// reload can change it. Saves are [`MIN_SAVE_GAP`] apart at least.
    pub fn start(
        store: Arc<LimitStore>,
        path: PathBuf,
        interval_secs: Arc<AtomicU32>,
    ) -> std::io::Result<Saver> {
        Saver::start_with_gap(store, path, interval_secs, MIN_SAVE_GAP)
    }

    /// As [`start`](Self::start), with saves at least `gap` apart.
    pub fn start_with_gap(
        store: Arc<LimitStore>,
        path: PathBuf,
        interval_secs: Arc<AtomicU32>,
        gap: Duration,
    ) -> std::io::Result<Saver> {
        let thread_store = Arc::clone(&store);
        let thread_path = path.clone();
        let handle = std::thread::Builder::new()
            .name("callscreen-save".into())
            .spawn(move || {
                let signal = &thread_store.signal;
                let mut last_save: Option<Instant> = None;
                let mut last_sweep = Instant::now();
                loop {
                    let interval = Duration::from_secs(u64::from(
                        interval_secs.load(Ordering::Relaxed).max(1),
                    ));
                    if signal.wait(interval) {
                        break;
                    }
                    // Woken by a trip soon after the last save: wait out the
                    // gap (trips meanwhile are in the same save).
                    if let Some(since) = last_save.map(|t| t.elapsed()) {
                        if since < gap && signal.pause(gap - since) {
                            break;
                        }
                    }
                    if last_sweep.elapsed() >= interval {
                        thread_store.sweep(unix_now());
                        last_sweep = Instant::now();
                    }
                    let _ = thread_store.save(&thread_path, false);
                    last_save = Some(Instant::now());
                }
            })?;
        Ok(Saver {
            store,
            path,
            handle: Some(handle),
        })
    }

    /// The state file.
    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Stops and joins the thread, then saves a last time.
    pub fn stop(&mut self) -> std::io::Result<bool> {
        if let Some(handle) = self.handle.take() {
            self.store.signal.stop();
            let _ = handle.join();
            return self.store.save(&self.path, true);
        }
        Ok(false)
    }
}

impl Drop for Saver {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::engine::{CallFacts, Engine};

    const POOL: &str =
        "limits:\n  - name: pools\n    key: caller_prefix\n    digits: 7\n    distinct: 3/1h\n";

    fn trip(e: &Engine, prefix: u32) {
        for i in 0..4 {
            e.screen(
                &CallFacts {
                    caller_number: &format!("{prefix}{i:04}"),
                    ..CallFacts::default()
                },
                SystemTime::now(),
            );
        }
    }

    fn wait_for_saves(store: &LimitStore, n: u64) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while store.save_stats.saves.load(Ordering::Relaxed) < n {
            assert!(Instant::now() < deadline, "no save within 10 s");
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    #[test]
    fn a_flood_of_trips_is_saved_once_per_gap_not_once_per_trip() {
        let dir = std::env::temp_dir().join(format!("callscreen-saver-gap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Arc::new(LimitStore::new());
        let e = Engine::with_limit_store(
            Config::parse(POOL, std::path::Path::new("t.yaml")).unwrap(),
            &store,
        );
        let mut saver = Saver::start_with_gap(
            Arc::clone(&store),
            dir.join("limits.state"),
            Arc::new(AtomicU32::new(3600)),
            Duration::from_secs(60),
        )
        .unwrap();
        // The first trip after a quiet spell is saved at once (the interval
        // is an hour).
        trip(&e, 1_701_234);
        wait_for_saves(&store, 1);
        // Then fifty more trips, each a wake-up: none is written before the
        // gap has passed…
        for p in 0..50 {
            trip(&e, 1_702_000 + p);
        }
        std::thread::sleep(Duration::from_millis(300));
        assert_eq!(store.save_stats.saves.load(Ordering::Relaxed), 1);
        // …and nothing is lost: stopping writes them.
        assert!(saver.stop().unwrap());
        assert_eq!(store.save_stats.saves.load(Ordering::Relaxed), 2);
        let restored = LimitStore::new();
        restored
            .restore(
                &dir.join("limits.state"),
                super::super::unix_seconds(SystemTime::now()),
            )
            .unwrap();
        let _limiter = restored.attach(
            &Config::parse(POOL, std::path::Path::new("t.yaml")).unwrap(),
            super::super::unix_seconds(SystemTime::now()),
        );
        assert_eq!(
            restored
                .penalties(super::super::unix_seconds(SystemTime::now()), None)
                .len(),
            51
        );
        std::fs::remove_dir_all(dir).unwrap();
    }
}
