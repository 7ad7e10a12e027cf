//! The state shared by the second parsing pass: the numbering plan and every
//! name defined in the file, so that references are checked where they are
//! written.

use std::cell::RefCell;
use std::collections::BTreeSet;

use crate::numbers::NumberPlan;

/// Names and plan known to pass 2.
pub(super) struct ParseContext {
    pub(super) plan: NumberPlan,
    pub(super) lists: BTreeSet<String>,
    pub(super) replies: BTreeSet<String>,
    pub(super) rule_names: BTreeSet<String>,
    pub(super) limit_names: BTreeSet<String>,
}

thread_local! {
    static CONTEXT: RefCell<Option<ParseContext>> = const { RefCell::new(None) };
}

/// Runs `f` with `ctx` installed for the field deserializers.
pub(super) fn with_context<T>(ctx: ParseContext, f: impl FnOnce() -> T) -> T {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            CONTEXT.with(|c| c.borrow_mut().take());
        }
    }
    CONTEXT.with(|c| *c.borrow_mut() = Some(ctx));
    let _reset = Reset;
    f()
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
