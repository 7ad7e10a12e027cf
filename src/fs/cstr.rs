//! Host strings: nullable, possibly not UTF-8; and Rust text on its way to C.

use std::borrow::Cow;
use std::ffi::{c_char, CStr, CString};

/// Reads a C string the host handed us. NULL is `None`; bytes that are not
/// UTF-8 are replaced (U+FFFD), so hostile input stays data.
///
/// # Safety
/// `ptr` must be NULL or point to a NUL-terminated string that stays valid and
/// unchanged for `'a`.
pub unsafe fn from_host<'a>(ptr: *const c_char) -> Option<Cow<'a, str>> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: non-NULL and NUL-terminated for 'a, as the caller promises.
    let bytes = unsafe { CStr::from_ptr(ptr) };
    Some(bytes.to_string_lossy())
}

/// Makes a C string of Rust text, dropping any interior NUL bytes (which C
/// would otherwise read as the end of the string).
pub fn to_host(text: &str) -> CString {
    match CString::new(text) {
        Ok(c) => c,
        Err(_) => CString::new(text.replace('\0', "")).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn null_and_non_utf8_are_handled() {
        // SAFETY: NULL is allowed.
        assert!(unsafe { from_host(std::ptr::null()) }.is_none());
        let bytes = b"+86\xff\xfe170\0";
        // SAFETY: a NUL-terminated static buffer.
        let s = unsafe { from_host(bytes.as_ptr().cast()) }.unwrap();
        assert_eq!(s, "+86\u{fffd}\u{fffd}170");
    }

    #[test]
    fn interior_nul_is_dropped() {
        assert_eq!(to_host("a\0b").as_bytes(), b"ab");
        assert_eq!(to_host("plain").as_bytes(), b"plain");
    }
}
