//! mod_callscreen: screens inbound calls in FreeSWITCH against number rules.
//!
//! Layers (see DESIGN.md): [`fs`] is the FFI boundary with FreeSWITCH and the
//! only place with `unsafe`; everything else is the pure-Rust engine, also used
//! by the `callscreen` command-line program.
#![deny(unsafe_op_in_unsafe_fn)]

pub mod causes;
pub mod commands;
pub mod config;
pub mod engine;
pub mod history;
pub mod number_set;
pub mod numbers;
pub mod pattern;
pub mod replay;
pub mod report;
pub mod screen_call;
pub mod screening;
pub mod service;
pub mod timefmt;
pub mod verdict;

#[doc(hidden)]
pub mod fs;
