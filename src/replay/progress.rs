//! A progress bar on stderr for long replays: drawn only when stderr is a
//! terminal (so logs and pipes get nothing), redrawn at most five times a
//! second, and wiped when the replay ends, whether it finishes or stops on
//! an error (so the error is not printed after a half-line of bar).

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
    /// Where the bar is drawn: stderr, or a buffer in tests.
    sink: Box<dyn Write>,
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
            sink: Box::new(std::io::stderr()),
        }
    }

    /// A bar drawn into `sink` from the first tick on (for tests).
    #[cfg(test)]
    pub(crate) fn drawing_to(sink: Box<dyn Write>) -> Self {
        let mut p = Progress::new(true, None, Rc::new(Cell::new(0)));
        p.sink = sink;
        p.last_draw = p.last_draw.checked_sub(REDRAW).unwrap_or(p.last_draw);
        p
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
        let _ = self.sink.write_all(line.as_bytes());
        let _ = self.sink.flush();
        self.drawn = true;
    }

    /// Wipes the bar.
    pub fn finish(&mut self) {
        if self.drawn {
            let _ = self.sink.write_all(format!("\r{:78}\r", "").as_bytes());
            let _ = self.sink.flush();
            self.drawn = false;
        }
    }
}

impl Drop for Progress {
    /// A bar still drawn is wiped, however the replay ended.
    fn drop(&mut self) {
        self.finish();
    }
}
