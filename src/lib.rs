//! mod_callscreen: screens inbound calls in FreeSWITCH against number rules.
//!
//! Layers (see DESIGN.md): [`fs`] is the FFI boundary with FreeSWITCH and the
//! only place with `unsafe`; everything else is the pure-Rust engine, also used
//! by the `callscreen` command-line program.
#![deny(unsafe_op_in_unsafe_fn)]

pub mod allow_memory;
pub mod causes;
pub mod check_args;
pub mod commands;
pub mod conditions;
pub mod config;
pub mod durations;
pub mod engine;
pub mod events;
pub mod history;
pub mod journal;
pub mod ledger;
pub mod limits;
pub mod maintenance;
pub mod metrics;
pub mod number_set;
pub mod numbers;
pub mod ops;
pub mod pattern;
pub mod replay;
pub mod replies;
pub mod report;
pub mod runtime_lists;
pub mod schedule;
pub mod screen_call;
pub mod screening;
pub mod service;
pub mod state_store;
pub mod summary;
pub mod timefmt;
pub mod verdict;

#[doc(hidden)]
pub mod fs;
