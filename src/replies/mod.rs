//! Auto-replies: what a screened caller gets, decided in pure Rust.
//!
//! [`select`] resolves a named reply (possibly a group or a schedule) to the
//! one a call gets; [`steps`] turns it into the FreeSWITCH applications to
//! run; [`perform`] runs those steps against any [`perform::CallHost`] (the
//! real channel in `src/fs/app.rs`, a recording fake in tests), feeding the
//! digits a challenge collected back to the pure [`steps::judge`].

pub mod perform;
pub mod prng;
pub mod select;
pub mod steps;
pub mod tones;
pub mod when;
