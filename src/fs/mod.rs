//! The FFI boundary with FreeSWITCH: the only place with `unsafe`, C strings
//! and host pointers. Raw bindings → safe wrappers → entry points.

mod api;
mod app;
pub mod bindings;
mod cstr;
mod events;
mod guard;
mod host;
mod host_api;
mod log;
mod module;
mod session;
mod stack;
mod stream;
