//! Which reply a call gets: the named reply resolved through groups
//! (weighted, round-robin, random) and schedules to one that acts on the
//! call. Lock-free: round-robin turns are atomic counters, random draws come
//! from the lock-free [`Prng`]. Allocation-free unless a trace is asked for.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::SystemTime;

use super::prng::Prng;
use crate::config::{Member, Pick, Reply, ReplyKind};

/// The per-engine state of reply selection.
#[derive(Debug)]
pub struct Selector {
    turns: Vec<AtomicUsize>,
    rng: Prng,
}

impl Selector {
    /// State for these replies; `seed` makes random picks reproducible.
    pub fn new(replies: &[Reply], seed: u64) -> Selector {
        Selector {
            turns: replies.iter().map(|_| AtomicUsize::new(0)).collect(),
            rng: Prng::new(seed),
        }
    }

    /// Resolves reply `start` to the index of a reply that acts on the call
    /// (not a group or schedule). Each choice made is described in `trace`;
    /// with a trace (an explanation, not a call) round-robin turns are looked
    /// at, not taken: `check` shows the turn the next call gets.
    pub fn pick(
        &self,
        replies: &[Reply],
        start: usize,
        now: SystemTime,
        mut trace: Option<&mut Vec<String>>,
    ) -> usize {
        let mut i = start;
        // The config forbids cycles; the bound only guards against a bug.
        for _ in 0..=replies.len() {
            let reply = &replies[i];
            let next = match &reply.kind {
                ReplyKind::Group { pick, members } => {
                    let (m, draw) = self.choose(i, *pick, members, trace.is_some());
                    if let Some(t) = trace.as_deref_mut() {
                        t.push(describe_group(replies, reply, *pick, members, m, draw));
                    }
                    members[m].reply
                }
                ReplyKind::Schedule { cases, otherwise } => {
                    let case = cases.iter().position(|c| c.when.holds(now));
                    let next = case.map(|c| cases[c].reply).unwrap_or(*otherwise);
                    if let Some(t) = trace.as_deref_mut() {
                        t.push(match case {
                            Some(c) => format!(
                                "schedule {}: case {} ({}) holds: {}",
                                reply.name,
                                c + 1,
                                cases[c].when,
                                replies[next].name
                            ),
                            None => format!(
                                "schedule {}: no case holds: otherwise {}",
                                reply.name, replies[next].name
                            ),
                        });
                    }
                    next
                }
                _ => return i,
            };
            i = next;
        }
        i
    }

    /// The member picked and the draw (turn or random number) that picked it;
    /// `peek` leaves the round-robin turn where it is.
    fn choose(&self, group: usize, pick: Pick, members: &[Member], peek: bool) -> (usize, u64) {
        let total: u64 = members.iter().map(|m| u64::from(m.weight)).sum();
        if pick == Pick::Random {
            let d = self.rng.below(members.len() as u64);
            return (d as usize, d);
        }
        let draw = if pick == Pick::Weighted {
            self.rng.below(total)
        } else {
            let turn = if peek {
                self.turns[group].load(Ordering::Relaxed)
            } else {
                self.turns[group].fetch_add(1, Ordering::Relaxed)
            };
            (turn as u64) % total
        };
        let mut acc = 0u64;
        for (k, m) in members.iter().enumerate() {
            acc += u64::from(m.weight);
            if draw < acc {
                return (k, draw);
            }
        }
        (members.len() - 1, draw)
    }
}

fn describe_group(
    replies: &[Reply],
    group: &Reply,
    pick: Pick,
    members: &[Member],
    chosen: usize,
    draw: u64,
) -> String {
    let list: Vec<String> = members
        .iter()
        .map(|m| match pick {
            Pick::Weighted | Pick::RoundRobin if m.weight != 1 => {
                format!("{}×{}", replies[m.reply].name, m.weight)
            }
            _ => replies[m.reply].name.clone(),
        })
        .collect();
    let how = match pick {
        Pick::RoundRobin => format!(
            "turn {} of {}",
            draw + 1,
            members.iter().map(|m| u64::from(m.weight)).sum::<u64>()
        ),
        Pick::Weighted => format!("draw {draw}"),
        Pick::Random => "random draw".to_string(),
    };
    format!(
        "group {} ({} of {}): {how}: {}",
        group.name,
        pick.as_str(),
        list.join(", "),
        replies[members[chosen].reply].name
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::path::Path;
    use std::time::{Duration, UNIX_EPOCH};

    fn config(yaml: &str) -> Config {
        Config::parse(yaml, Path::new("t.yaml")).unwrap()
    }

    fn index(c: &Config, name: &str) -> usize {
        c.replies.iter().position(|r| r.name == name).unwrap()
    }

    const GROUPS: &str = r#"
replies:
  busy: { kind: busy_tone }
  vacant: { kind: vacant }
  ring: { kind: ringout }
  weighted: { kind: group, pick: weighted, replies: { busy: 6, vacant: 3, ring: 1 } }
  turns: { kind: group, pick: round_robin, replies: { vacant: 1, busy: 2, ring: 1 } }
  uniform: { kind: group, pick: random, replies: [busy, vacant, ring, rejected] }
  nested: { kind: group, pick: round_robin, replies: [uniform, busy] }
"#;

    fn draws(c: &Config, s: &Selector, group: &str, n: usize) -> Vec<String> {
        let g = index(c, group);
        (0..n)
            .map(|_| {
                c.replies[s.pick(&c.replies, g, SystemTime::now(), None)]
                    .name
                    .clone()
            })
            .collect()
    }

    #[test]
    fn weighted_picks_follow_the_weights_over_many_draws() {
        let c = config(GROUPS);
        let s = Selector::new(&c.replies, 12345);
        let all = draws(&c, &s, "weighted", 20_000);
        let share = |name: &str| all.iter().filter(|n| *n == name).count() as f64 / 20_000.0;
        // 6:3:1 within two percentage points.
        assert!((share("busy") - 0.6).abs() < 0.02, "busy {}", share("busy"));
        assert!(
            (share("vacant") - 0.3).abs() < 0.02,
            "vacant {}",
            share("vacant")
        );
        assert!((share("ring") - 0.1).abs() < 0.02, "ring {}", share("ring"));
    }

    #[test]
    fn random_picks_are_uniform_and_reproducible_by_seed() {
        let c = config(GROUPS);
        let all = draws(&c, &Selector::new(&c.replies, 9), "uniform", 20_000);
        for name in ["busy", "vacant", "ring", "rejected"] {
            let share = all.iter().filter(|n| *n == name).count() as f64 / 20_000.0;
            assert!((share - 0.25).abs() < 0.02, "{name} {share}");
        }
        let again = draws(&c, &Selector::new(&c.replies, 9), "uniform", 50);
        assert_eq!(&all[..50], &again[..]);
    }

    #[test]
    fn round_robin_goes_in_written_order_with_weights_as_turns() {
        let c = config(GROUPS);
        let s = Selector::new(&c.replies, 1);
        assert_eq!(
            draws(&c, &s, "turns", 8),
            ["vacant", "busy", "busy", "ring", "vacant", "busy", "busy", "ring"]
        );
    }

    #[test]
    fn an_explanation_shows_the_next_turn_without_taking_it() {
        let c = config(GROUPS);
        let s = Selector::new(&c.replies, 1);
        let group = index(&c, "turns");
        let explained = |s: &Selector| {
            let mut trace = Vec::new();
            let i = s.pick(&c.replies, group, SystemTime::now(), Some(&mut trace));
            c.replies[i].name.clone()
        };
        assert_eq!(explained(&s), "vacant");
        assert_eq!(explained(&s), "vacant", "a check takes no turn");
        assert_eq!(draws(&c, &s, "turns", 2), ["vacant", "busy"]);
        assert_eq!(explained(&s), "busy", "the next call's turn");
    }

    #[test]
    fn round_robin_turns_are_shared_by_threads_without_loss() {
        let c = config(GROUPS);
        let s = Selector::new(&c.replies, 1);
        let g = index(&c, "turns");
        let counts = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    scope.spawn(|| {
                        let mut n = [0usize; 8];
                        for _ in 0..1000 {
                            n[s.pick(&c.replies, g, SystemTime::now(), None)] += 1;
                        }
                        n
                    })
                })
                .collect();
            let mut total = [0usize; 8];
            for h in handles {
                for (t, v) in total.iter_mut().zip(h.join().unwrap()) {
                    *t += v;
                }
            }
            total
        });
        // 4000 turns over a cycle of 4: exactly 1000 vacant, 2000 busy, 1000 ring.
        assert_eq!(counts[index(&c, "vacant")], 1000);
        assert_eq!(counts[index(&c, "busy")], 2000);
        assert_eq!(counts[index(&c, "ring")], 1000);
    }

    #[test]
    fn nested_groups_resolve_to_a_reply_that_acts_and_say_how() {
        let c = config(GROUPS);
        let s = Selector::new(&c.replies, 3);
        let mut trace = Vec::new();
        let got = s.pick(
            &c.replies,
            index(&c, "nested"),
            SystemTime::now(),
            Some(&mut trace),
        );
        assert!(!c.replies[got].kind.is_choice());
        assert_eq!(trace.len(), 2, "{trace:?}");
        assert!(
            trace[0]
                .starts_with("group nested (round_robin of uniform, busy): turn 1 of 2: uniform"),
            "{trace:?}"
        );
        assert!(
            trace[1].starts_with(
                "group uniform (random of busy, vacant, ring, rejected): random draw: "
            ),
            "{trace:?}"
        );
    }

    #[test]
    fn schedules_pick_by_time() {
        let c = config(
            r#"
replies:
  busy: { kind: busy_tone }
  vm: { kind: voicemail, extension: "vm-1000" }
  by-time:
    kind: schedule
    cases:
      - when: { days: mon-fri, hours: "09:00-18:00", utc_offset: "+08:00" }
        reply: busy
    otherwise: vm
"#,
        );
        let s = Selector::new(&c.replies, 1);
        let g = index(&c, "by-time");
        // Monday 2024-01-01 10:00 in Beijing = 02:00 UTC.
        let monday_10 = UNIX_EPOCH + Duration::from_secs(1_704_067_200 + 2 * 3600);
        let sunday_10 = monday_10 - Duration::from_secs(86_400);
        let mut trace = Vec::new();
        assert_eq!(
            c.replies[s.pick(&c.replies, g, monday_10, Some(&mut trace))].name,
            "busy"
        );
        assert_eq!(
            trace[0],
            "schedule by-time: case 1 (mon,tue,wed,thu,fri 09:00-18:00 UTC+08:00) holds: busy"
        );
        assert_eq!(c.replies[s.pick(&c.replies, g, sunday_10, None)].name, "vm");
    }
}
