//! The guard every `extern "C"` entry point runs its body in: a panic is
//! caught, logged at CRIT and turned into a status, never unwound into C.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::log::{log, Level};

/// Runs `body`; if it panics, logs CRIT naming `entry` and returns `on_panic`.
pub fn guard<R>(entry: &str, on_panic: R, body: impl FnOnce() -> R) -> R {
    match catch(body) {
        Ok(value) => value,
        Err(message) => {
            // Logging itself must not unwind into the host either.
            let _ = catch_unwind(AssertUnwindSafe(|| {
                log(
                    None,
                    Level::Crit,
                    format_args!("mod_callscreen: panic in {entry}: {message}; the call or command was abandoned"),
                )
            }));
            on_panic
        }
    }
}

/// Test hook: in debug builds only, panics when the environment variable
/// `CALLSCREEN_FAULT` names this entry point (comma-separated), so the host
/// tests can prove that a panic never reaches FreeSWITCH. Release builds have
/// no such hook.
pub fn fault_point(name: &str) {
    #[cfg(debug_assertions)]
    if let Ok(points) = std::env::var("CALLSCREEN_FAULT") {
        if points.split(',').any(|p| p.trim() == name) {
            panic!("injected fault at {name}");
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = name;
}

/// Runs `body`, turning a panic into its message.
pub fn catch<R>(body: impl FnOnce() -> R) -> Result<R, String> {
    catch_unwind(AssertUnwindSafe(body)).map_err(|payload| panic_message(payload.as_ref()))
}

/// The text of a panic's payload.
pub fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-text panic payload".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_its_message() {
        let r: Result<(), String> = catch(|| panic!("boom {}", 42));
        assert_eq!(r.unwrap_err(), "boom 42");
        let r: Result<u8, String> = catch(|| std::panic::panic_any(7u32));
        assert_eq!(r.unwrap_err(), "non-text panic payload");
        assert_eq!(catch(|| 5).unwrap(), 5);
    }
}
