//! A progress bar on stderr for long replays: drawn only when stderr is a
//! terminal (so logs and pipes get nothing), redrawn at most five times a
//! second, and wiped when the replay ends.

use std::cell::Cell;
use std::io::{IsTerminal, Read, Write};
use std::rc::Rc;
use std::time::{Duration, Instant};

/// Counts the bytes read through it, for the progress bar.
pub struct CountingReader<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> CountingReader<R> {
    /// Wraps `inner`; `count` grows with every byte read.
    pub fn new(inner: R, count: Rc<Cell<u64>>) -> Self {
        CountingReader { inner, count }
    }
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Whether a progress bar should be drawn: stderr is a terminal. (std's
/// `IsTerminal` is `isatty(2)` on Unix, without an `unsafe` block here.)
pub fn stderr_is_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// The bar.
pub struct Progress {
    enabled: bool,
    total_bytes: Option<u64>,
    bytes: Rc<Cell<u64>>,
    started: Instant,
    last_draw: Instant,
    drawn: bool,
}

const REDRAW: Duration = Duration::from_millis(200);
/// Calls between two looks at the clock.
pub const TICK_EVERY: u64 = 8192;

impl Progress {
    /// A bar over an input of `total_bytes` (unknown for a pipe) whose read
    /// count is `bytes`; draws nothing unless `enabled`.
    pub fn new(enabled: bool, total_bytes: Option<u64>, bytes: Rc<Cell<u64>>) -> Self {
        let now = Instant::now();
        Progress {
            enabled,
            total_bytes,
            bytes,
            started: now,
            last_draw: now,
            drawn: false,
        }
    }

    /// A bar that never draws.
    pub fn hidden() -> Self {
        Progress::new(false, None, Rc::new(Cell::new(0)))
    }

    /// Called every call; looks at the clock every [`TICK_EVERY`] calls.
    #[inline]
    pub fn tick(&mut self, calls: u64) {
        if self.enabled && calls % TICK_EVERY == 0 {
            self.maybe_draw(calls);
        }
    }

    fn maybe_draw(&mut self, calls: u64) {
        let now = Instant::now();
        if now.duration_since(self.last_draw) < REDRAW {
            return;
        }
        self.last_draw = now;
        let secs = now.duration_since(self.started).as_secs_f64().max(1e-9);
        let rate = calls as f64 / secs;
        let line = match self.total_bytes {
            Some(total) if total > 0 => {
                let done = (self.bytes.get() as f64 / total as f64).min(1.0);
                let width = 30;
                let filled = (done * width as f64) as usize;
                format!(
                    "\r[{}{}] {:>3.0}%  {} calls  {} calls/s ",
                    "#".repeat(filled),
                    "-".repeat(width - filled),
                    done * 100.0,
                    crate::summary::text::thousands(calls),
                    crate::summary::text::thousands(rate as u64)
                )
            }
            _ => format!(
                "\r{} calls  {} calls/s ",
                crate::summary::text::thousands(calls),
                crate::summary::text::thousands(rate as u64)
            ),
        };
        let mut err = std::io::stderr().lock();
        let _ = err.write_all(line.as_bytes());
        let _ = err.flush();
        self.drawn = true;
    }

    /// Wipes the bar.
    pub fn finish(&mut self) {
        if self.drawn {
            let mut err = std::io::stderr().lock();
            let _ = err.write_all(format!("\r{:78}\r", "").as_bytes());
            let _ = err.flush();
            self.drawn = false;
        }
    }
}
