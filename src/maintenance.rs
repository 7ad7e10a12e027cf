//! The service's background thread (`callscreen-maint`): reloads asked for
//! by FreeSWITCH's `reloadxml` event, reloads when watched files change,
//! expiry of runtime entries and journal compaction, and `callscreen::penalty`
//! events (keys entering the penalty box at once, their penalties' ends
//! within a second). Started by
//! `Service::start_background` (module load), stopped and joined by
//! `Service::shutdown` (module shutdown). It holds only a weak reference to
//! the service, so it never keeps it alive.

use std::path::PathBuf;
use std::sync::{Arc, Condvar, Mutex, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime};

use crate::service::Service;

/// How often expired entries are swept when nothing else wakes the thread.
const SWEEP_EVERY: Duration = Duration::from_secs(1);

#[derive(Default)]
struct Signals {
    stop: bool,
    reload: Option<String>,
}

/// The running thread and its mailbox.
pub struct Maintenance {
    signals: Arc<(Mutex<Signals>, Condvar)>,
    handle: Option<JoinHandle<()>>,
}

impl Maintenance {
    /// Starts the thread for `service`.
    pub fn start(service: Weak<Service>) -> std::io::Result<Maintenance> {
        let signals: Arc<(Mutex<Signals>, Condvar)> = Arc::default();
        let theirs = signals.clone();
        // It reloads configs (reloadxml, file changes): a deep parse, given
        // a main thread's stack whatever RUST_MIN_STACK says.
        let handle = std::thread::Builder::new()
            .name("callscreen-maint".into())
            .stack_size(8 << 20)
            .spawn(move || run(service, theirs))?;
        Ok(Maintenance {
            signals,
            handle: Some(handle),
        })
    }

    /// Something that wakes the thread (for penalty-box notices). Safe on a
    /// call's thread: it never blocks (a wake-up that comes while the thread
    /// is busy is seen at its next tick, within a second).
    pub fn waker(&self) -> std::sync::Arc<dyn Fn() + Send + Sync> {
        let signals = Arc::clone(&self.signals);
        Arc::new(move || signals.1.notify_one())
    }

    /// Asks for a reload (returns at once; the thread does it).
    pub fn request_reload(&self, source: &str) {
        let (lock, cv) = &*self.signals;
        lock.lock().unwrap_or_else(|p| p.into_inner()).reload = Some(source.to_string());
        cv.notify_one();
    }

    /// Stops the thread and waits for it.
    pub fn stop(&mut self) {
        let (lock, cv) = &*self.signals;
        lock.lock().unwrap_or_else(|p| p.into_inner()).stop = true;
        cv.notify_one();
        if let Some(handle) = self.handle.take() {
            if handle.thread().id() != std::thread::current().id() {
                let _ = handle.join();
            }
        }
    }
}

impl std::fmt::Debug for Maintenance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Maintenance").finish_non_exhaustive()
    }
}

impl Drop for Maintenance {
    fn drop(&mut self) {
        self.stop();
    }
}

/// What is compared to see a file change: its modification time and size
/// (the size catches a rewrite within a coarse mtime's granularity).
type Stamp = Option<(SystemTime, u64)>;

fn mtimes(files: &[PathBuf]) -> Vec<Stamp> {
    files
        .iter()
        .map(|f| {
            std::fs::metadata(f)
                .and_then(|m| Ok((m.modified()?, m.len())))
                .ok()
        })
        .collect()
}

fn run(service: Weak<Service>, signals: Arc<(Mutex<Signals>, Condvar)>) {
    let (lock, cv) = &*signals;
    let mut watched: Option<(Vec<PathBuf>, Vec<Stamp>)> = None;
    loop {
        let tick = service
            .upgrade()
            .and_then(|s| s.watch_interval())
            .map_or(SWEEP_EVERY, |w| w.min(SWEEP_EVERY));
        let reload = {
            let mut s = lock.lock().unwrap_or_else(|p| p.into_inner());
            if !s.stop && s.reload.is_none() {
                s = cv
                    .wait_timeout(s, tick)
                    .map(|(g, _)| g)
                    .unwrap_or_else(|p| p.into_inner().0);
            }
            if s.stop {
                return;
            }
            s.reload.take()
        };
        let Some(service) = service.upgrade() else {
            return;
        };
        if let Some(source) = reload {
            let _ = service.reload_from(&source); // logged by reload_from
            watched = None;
        }
        if service.watch_interval().is_some() {
            let list_files = service
                .engine()
                .map(|e| e.config().list_files.clone())
                .unwrap_or_default();
            let files = crate::ops::watched_files(service.config_path(), &list_files);
            let now = mtimes(&files);
            match &watched {
                Some((f, before)) if *f == files => {
                    if *before != now {
                        let _ = service.reload_from("file change"); // logged
                        watched = Some((files.clone(), mtimes(&files)));
                    }
                }
                _ => watched = Some((files, now)),
            }
        } else {
            watched = None;
        }
        service.penalty_housekeeping(SystemTime::now());
        service.ops.housekeeping(SystemTime::now());
    }
}
