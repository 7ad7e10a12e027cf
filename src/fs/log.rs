//! Logging through FreeSWITCH's logger. The text is formatted into a stack
//! buffer and always passed as an argument of the constant format `"%.*s\n"`:
//! Rust text (which may carry a caller's `%n`) is never a printf format.

use std::ffi::{c_char, c_int};
use std::fmt::{self, Write};

use super::bindings as sys;
use super::host_api;
use super::session::Session;

/// Log levels the module uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Detail for debugging.
    Debug,
    /// Normal operation.
    Info,
    /// Noteworthy.
    Notice,
    /// Something is wrong but handled.
    Warning,
    /// An operation failed.
    Error,
    /// The module cannot do its job (or a panic was caught).
    Crit,
}

impl Level {
    fn to_host(self) -> sys::switch_log_level_t {
        match self {
            Level::Debug => sys::SWITCH_LOG_DEBUG,
            Level::Info => sys::SWITCH_LOG_INFO,
            Level::Notice => sys::SWITCH_LOG_NOTICE,
            Level::Warning => sys::SWITCH_LOG_WARNING,
            Level::Error => sys::SWITCH_LOG_ERROR,
            Level::Crit => sys::SWITCH_LOG_CRIT,
        }
    }
}

/// Longest log line; longer text is cut and ends with `…`.
const LINE_MAX: usize = 1024;

struct StackLine {
    buf: [u8; LINE_MAX],
    len: usize,
    truncated: bool,
}

impl Write for StackLine {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = LINE_MAX - 4 - self.len;
        let take = if s.len() <= room {
            s.len()
        } else {
            self.truncated = true;
            // Cut on a character boundary.
            (0..=room)
                .rev()
                .find(|&i| s.is_char_boundary(i))
                .unwrap_or(0)
        };
        self.buf[self.len..self.len + take].copy_from_slice(&s.as_bytes()[..take]);
        self.len += take;
        Ok(())
    }
}

static FILE: &[u8] = b"mod_callscreen.rs\0";
static FUNC: &[u8] = b"callscreen\0";
static FORMAT: &[u8] = b"%.*s\n\0";

/// Logs a line, tagged with the call's UUID when a session is given.
pub fn log(session: Option<&Session>, level: Level, args: fmt::Arguments<'_>) {
    let mut line = StackLine {
        buf: [0; LINE_MAX],
        len: 0,
        truncated: false,
    };
    let _ = line.write_fmt(args);
    if line.truncated {
        line.buf[line.len..line.len + 3].copy_from_slice("…".as_bytes());
        line.len += 3;
    }
    let (channel, userdata) = match session {
        Some(s) => (sys::SWITCH_CHANNEL_ID_SESSION, s.as_ptr() as *const c_char),
        None => (sys::SWITCH_CHANNEL_ID_LOG, std::ptr::null()),
    };
    let Some(printf) = host_api::get().and_then(|api| api.switch_log_printf) else {
        return;
    };
    // SAFETY: every pointer is either NULL (allowed for userdata) or a static
    // NUL-terminated string; the format is constant and consumes exactly an int
    // and a pointer to `len` readable bytes, which `line.buf` provides.
    unsafe {
        printf(
            channel,
            FILE.as_ptr().cast(),
            FUNC.as_ptr().cast(),
            0,
            userdata,
            level.to_host(),
            FORMAT.as_ptr().cast(),
            line.len as c_int,
            line.buf.as_ptr().cast::<c_char>(),
        );
    }
}
