//! The state shared by the second parsing pass: the numbering plan and every
//! name defined in the file, so that references are checked where they are
//! written.

use std::cell::RefCell;
use std::collections::BTreeSet;

use super::audio::LoadOptions;
use crate::numbers::NumberPlan;

/// Names and plan known to pass 2.
pub(super) struct ParseContext {
    pub(super) plan: NumberPlan,
    pub(super) lists: BTreeSet<String>,
    pub(super) replies: BTreeSet<String>,
    pub(super) rule_names: BTreeSet<String>,
    /// How audio paths are expanded and checked.
    pub(super) load: LoadOptions,
    /// Warnings found on the way (paths that could not be checked).
    pub(super) notes: Vec<String>,
    /// Directory of the YAML file: list files are found relative to it.
    pub(super) base_dir: std::path::PathBuf,
    /// Limit names seen so far (each unique).
    pub(super) limit_names: BTreeSet<String>,
    /// List files read so far.
    pub(super) list_files: Vec<std::path::PathBuf>,
    /// Profiles and rules a limit's scope may name (from pass 1).
    pub(super) scope_names: super::scope_names::ScopeNames,
}

thread_local! {
    static CONTEXT: RefCell<Option<ParseContext>> = const { RefCell::new(None) };
}

/// Runs `f` with `ctx` installed for the field deserializers; gives the
/// context back with what the pass added (its notes).
pub(super) fn with_context<T>(ctx: ParseContext, f: impl FnOnce() -> T) -> (T, ParseContext) {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            CONTEXT.with(|c| c.borrow_mut().take());
        }
    }
    CONTEXT.with(|c| *c.borrow_mut() = Some(ctx));
    let _reset = Reset;
    let result = f();
    let ctx = CONTEXT
        .with(|c| c.borrow_mut().take())
        .expect("the context stays installed during the pass");
    (result, ctx)
}

/// Gives a field deserializer the context of the running pass.
pub(super) fn in_context<T>(f: impl FnOnce(&mut ParseContext) -> T) -> T {
    CONTEXT.with(|c| {
        let mut guard = c.borrow_mut();
        let ctx = guard
            .as_mut()
            .expect("config pass 2 runs inside with_context");
        f(ctx)
    })
}
