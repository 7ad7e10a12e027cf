//! The thread that writes the state file, off the calls' threads: every
//! `save_interval` when something changed, at once when a key enters the
//! penalty box, and a last time when it is stopped. It also sweeps idle keys.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::store::LimitStore;

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
    /// reload can change it.
    pub fn start(
        store: Arc<LimitStore>,
        path: PathBuf,
        interval_secs: Arc<AtomicU32>,
    ) -> std::io::Result<Saver> {
        let thread_store = Arc::clone(&store);
        let thread_path = path.clone();
        let handle = std::thread::Builder::new()
            .name("callscreen-save".into())
            .spawn(move || loop {
                let secs = interval_secs.load(Ordering::Relaxed).max(1);
                if thread_store
                    .signal
                    .wait(Duration::from_secs(u64::from(secs)))
                {
                    break;
                }
                thread_store.sweep(unix_now());
                let _ = thread_store.save(&thread_path, false);
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
