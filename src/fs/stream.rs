//! The output stream of an API command (what fs_cli prints).

use std::ffi::{c_char, c_int};
use std::ptr::NonNull;

use super::bindings as sys;

/// An API command's output stream.
pub struct Stream(NonNull<sys::switch_stream_handle_t>);

static FORMAT: &[u8] = b"%.*s\0";

impl Stream {
    /// Wraps the stream FreeSWITCH passed to the API function.
    ///
    /// # Safety
    /// `ptr` must be NULL or a stream handle valid for the whole API call.
    pub unsafe fn from_raw(ptr: *mut sys::switch_stream_handle_t) -> Option<Stream> {
        NonNull::new(ptr).map(Stream)
    }

    /// Appends text, always as the argument of a constant format.
    pub fn write(&mut self, text: &str) {
        // SAFETY: the handle is valid for the call (from_raw's contract).
        let Some(write) = (unsafe { self.0.as_ref() }).write_function else {
            return;
        };
        for chunk in text.as_bytes().chunks(c_int::MAX as usize) {
            // SAFETY: `write` is the host's printf-like writer; the format is
            // constant and consumes an int and a pointer to that many bytes.
            unsafe {
                write(
                    self.0.as_ptr(),
                    FORMAT.as_ptr().cast::<c_char>(),
                    chunk.len() as c_int,
                    chunk.as_ptr().cast::<c_char>(),
                );
            }
        }
    }
}
