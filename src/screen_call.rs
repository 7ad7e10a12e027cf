//! The one function that decides a call, used by the live module
//! ([`crate::screening::plan_call`]) and by the offline replay alike, so that
//! a replay gives what the module would have decided by construction.
//!
//! Whatever joins the decision later (limiter state, penalty box, reply
//! rotation) is passed in here, and both callers pass theirs: the module its
//! shared state, the replay its own, fed by the simulated clock.

use std::time::SystemTime;

use crate::engine::{CallFacts, Engine};
use crate::verdict::Verdict;

/// Screens one call at time `now`: the whole decision the module makes.
pub fn screen_call<'e>(engine: &'e Engine, facts: &CallFacts<'_>, now: SystemTime) -> Verdict<'e> {
    engine.screen(facts, now)
}
