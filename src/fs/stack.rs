//! Work that needs a deep stack runs on a thread of the module's own.
//!
//! FreeSWITCH calls a module's load function and its API commands on its own
//! threads, whose stacks are small (`SWITCH_THREAD_STACKSIZE`, 240 KiB, for
//! the event socket's command threads). Reading a config goes deep: the YAML
//! parser recurses and time zone files are parsed. On such a stack that
//! overflows, and a stack overflow kills FreeSWITCH with every call it
//! carries. So the config-reading entry points run their work here, on a
//! thread with a large stack that is joined before they return.

use std::fmt;

use super::guard::panic_message;

/// Why work sent to a worker thread did not finish.
#[derive(Debug, PartialEq, Eq)]
pub enum WorkerError {
    /// The work panicked (its message).
    Panicked(String),
    /// No thread could be started (the OS's reason); the work did not run.
    NoThread(String),
}

impl fmt::Display for WorkerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WorkerError::Panicked(message) => write!(f, "panic: {message}"),
            WorkerError::NoThread(why) => write!(f, "cannot start a worker thread: {why}"),
        }
    }
}

/// Stack of the worker thread: like a process's main thread.
pub const LARGE_STACK: usize = 8 << 20;

/// Runs `work` on a new thread with a [`LARGE_STACK`] and waits for it. A
/// panic in `work` comes back as an error; so does a thread that could not
/// be started (the work is then not done: it never runs on the caller's
/// small stack).
pub fn on_large_stack<R: Send>(
    name: &str,
    work: impl FnOnce() -> R + Send,
) -> Result<R, WorkerError> {
    std::thread::scope(|scope| {
        let worker = std::thread::Builder::new()
            .name(name.to_string())
            .stack_size(LARGE_STACK)
            .spawn_scoped(scope, work)
            .map_err(|e| WorkerError::NoThread(e.to_string()))?;
        worker
            .join()
            .map_err(|payload| WorkerError::Panicked(panic_message(payload.as_ref())))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recurses with a 1 KiB frame `depth` times.
    fn deep(depth: usize) -> usize {
        let frame = [depth as u8; 1024];
        std::hint::black_box(&frame);
        if depth == 0 {
            0
        } else {
            deep(depth - 1) + 1
        }
    }

    #[test]
    fn work_too_deep_for_a_freeswitch_stack_runs_and_returns() {
        // About 2 MiB of frames: eight times FreeSWITCH's 240 KiB.
        assert_eq!(on_large_stack("deep", || deep(2000)), Ok(2000));
    }

    #[test]
    fn a_panic_comes_back_as_its_message() {
        let r: Result<(), WorkerError> = on_large_stack("boom", || panic!("boom {}", 7));
        assert_eq!(r, Err(WorkerError::Panicked("boom 7".to_string())));
    }
}
