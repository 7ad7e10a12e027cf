//! A call's session and channel, as the dialplan application sees them.

use std::borrow::Cow;
use std::ffi::{c_char, CStr};
use std::ptr::NonNull;

use super::bindings as sys;
use super::cstr;
use super::host_api::{self, HostApi};

/// A live session for the duration of one application callback.
pub struct Session {
    api: &'static HostApi,
    session: NonNull<sys::switch_core_session_t>,
    channel: NonNull<sys::switch_channel_t>,
}

impl Session {
    /// Wraps the session FreeSWITCH passed to the application.
    ///
    /// # Safety
    /// `ptr` must be NULL or a session that stays alive (locked by the host)
    /// for as long as the returned value is used.
    pub unsafe fn from_raw(ptr: *mut sys::switch_core_session_t) -> Option<Session> {
        let api = host_api::get()?;
        let session = NonNull::new(ptr)?;
        let get_channel = api.switch_core_session_get_channel?;
        // SAFETY: `session` is a live session (caller's promise).
        let channel = NonNull::new(unsafe { get_channel(session.as_ptr()) })?;
        Some(Session {
            api,
            session,
            channel,
        })
    }

    /// The raw session, for the logger's UUID tag.
    pub fn as_ptr(&self) -> *mut sys::switch_core_session_t {
        self.session.as_ptr()
    }

    /// A channel variable (or caller-profile field such as
    /// `caller_id_number`), copied into the session's pool by the host.
    pub fn variable(&self, name: &CStr) -> Option<Cow<'_, str>> {
        let get = self.api.switch_channel_get_variable_dup?;
        // SAFETY: the channel is live; `name` is NUL-terminated; with dup=TRUE
        // the host returns a copy in the session pool, valid while the session
        // is, i.e. at least as long as `&self`.
        unsafe {
            let value = get(self.channel.as_ptr(), name.as_ptr(), sys::SWITCH_TRUE, -1);
            cstr::from_host(value)
        }
    }

    /// Sets a channel variable.
    pub fn set_variable(&self, name: &str, value: &str) {
        let Some(set) = self.api.switch_channel_set_variable_var_check else {
            return;
        };
        let name = cstr::to_host(name);
        let value = cstr::to_host(value);
        // SAFETY: live channel; both strings are NUL-terminated and the host
        // copies them.
        unsafe {
            set(
                self.channel.as_ptr(),
                name.as_ptr(),
                value.as_ptr(),
                sys::SWITCH_TRUE,
            );
        }
    }

    /// Hangs the call up with a cause given by its FreeSWITCH name.
    pub fn hangup(&self, cause_name: &str) {
        let (Some(str2cause), Some(hangup)) = (
            self.api.switch_channel_str2cause,
            self.api.switch_channel_perform_hangup,
        ) else {
            return;
        };
        let cause_name = cstr::to_host(cause_name);
        // SAFETY: live channel; constant, NUL-terminated file/function names.
        unsafe {
            let cause = str2cause(cause_name.as_ptr());
            hangup(
                self.channel.as_ptr(),
                b"mod_callscreen.rs\0".as_ptr().cast::<c_char>(),
                b"callscreen\0".as_ptr().cast::<c_char>(),
                0,
                cause,
            );
        }
    }

    /// Whether the channel is still up.
    pub fn ready(&self) -> bool {
        let Some(test_ready) = self.api.switch_channel_test_ready else {
            return false;
        };
        // SAFETY: live channel.
        unsafe { test_ready(self.channel.as_ptr(), sys::SWITCH_TRUE, sys::SWITCH_FALSE) != 0 }
    }

    /// Runs a FreeSWITCH application on the call (as the dialplan would);
    /// returns when it is done (a playback when it has played).
    pub fn execute(&self, app: &str, arg: &str) -> bool {
        let Some(execute) = self.api.switch_core_session_execute_application_get_flags else {
            return false;
        };
        let app = cstr::to_host(app);
        let arg = cstr::to_host(arg);
        // SAFETY: live session; NUL-terminated strings the host copies.
        let status = unsafe {
            execute(
                self.session.as_ptr(),
                app.as_ptr(),
                arg.as_ptr(),
                std::ptr::null_mut(),
            )
        };
        status == sys::SWITCH_STATUS_SUCCESS
    }
}
