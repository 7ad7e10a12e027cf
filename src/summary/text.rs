//! The summary as text for a terminal.

use std::fmt::Write as _;

use super::{Summary, Tally};
use crate::timefmt::rfc3339_at;

/// How many prefixes and callers the text lists.
pub const TOP_LINES: usize = 10;

/// A count with thousands separators: `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn percent(n: u64, of: u64) -> String {
    if of == 0 {
        return "0%".into();
    }
    format!("{:.1}%", n as f64 * 100.0 / of as f64)
}

fn tally_lines(out: &mut String, title: &str, tally: &Tally, of: u64, none: &str) {
    let _ = writeln!(out, "{title}:");
    let rows = tally.sorted();
    if rows.is_empty() {
        let _ = writeln!(out, "  {none}");
    }
    let width = rows.iter().map(|r| r.0.len()).max().unwrap_or(0).max(8);
    for (name, n) in rows {
        let shown = if name.is_empty() { "(none)" } else { name };
        let _ = writeln!(
            out,
            "  {shown:<width$}  {:>10}  {:>6}",
            thousands(n),
            percent(n, of)
        );
    }
}

/// Renders the summary: counts, top prefixes and callers, shadow rules.
pub fn render(s: &Summary) -> String {
    let mut out = String::new();
    match s.span {
        Some((a, b)) => {
            let _ = writeln!(
                out,
                "calls: {} from {} to {}",
                thousands(s.calls),
                rfc3339_at(a, s.offset),
                rfc3339_at(b, s.offset)
            );
        }
        None => {
            let _ = writeln!(out, "calls: 0");
        }
    }
    let blocked = s.blocked();
    tally_lines(&mut out, "by verdict", &s.by_verdict, s.calls, "(no calls)");
    tally_lines(&mut out, "by reason", &s.by_reason, s.calls, "(no calls)");
    tally_lines(&mut out, "by rule", &s.by_rule, s.calls, "(no calls)");
    tally_lines(
        &mut out,
        "blocked by limit",
        &s.by_limit,
        blocked,
        "(no call was blocked by a rate or pool limit)",
    );
    tally_lines(
        &mut out,
        "blocked by reply",
        &s.by_reply,
        blocked,
        "(no call blocked)",
    );

    let exact = |t: bool| {
        if t {
            ""
        } else {
            " (approximate: ≈ marks upper bounds)"
        }
    };
    let _ = writeln!(
        out,
        "top blocked prefixes ({}){}:",
        s.prefix_rule.describe(),
        exact(s.blocked_prefixes.exact())
    );
    let prefixes = s.blocked_prefixes.top(TOP_LINES);
    if prefixes.is_empty() {
        let _ = writeln!(out, "  (no blocked call had a number)");
    }
    for r in prefixes {
        let mark = if r.error > 0 { "≈" } else { "" };
        let _ = writeln!(
            out,
            "  {:<18} {mark}{:>10}",
            format!("{}…", r.key),
            thousands(r.count)
        );
    }
    let _ = writeln!(
        out,
        "top blocked callers{}:",
        exact(s.blocked_callers.exact())
    );
    let callers = s.blocked_callers.top(TOP_LINES);
    if callers.is_empty() {
        let _ = writeln!(out, "  (no blocked call had a number)");
    }
    for r in callers {
        let mark = if r.error > 0 { "≈" } else { "" };
        let _ = writeln!(
            out,
            "  {:<18} {mark}{:>10}",
            r.key.to_string(),
            thousands(r.count)
        );
    }
    for (class, n) in s.blocked_without_number.sorted() {
        let _ = writeln!(out, "  {:<18} {:>10}", format!("({class})"), thousands(n));
    }

    let shadowed = s.shadow.total();
    let _ = writeln!(
        out,
        "allowed calls a shadow rule would have blocked: {}",
        thousands(shadowed)
    );
    for (name, n) in s.shadow.sorted() {
        let _ = writeln!(out, "  {name:<18} {:>10}", thousands(n));
    }
    for e in &s.shadow_examples {
        let _ = writeln!(
            out,
            "    line {}: {} {} -> {} allowed by {}, shadow {}",
            e.line,
            rfc3339_at(e.time, s.offset),
            e.caller,
            e.destination,
            e.rule,
            e.shadow
        );
    }
    if shadowed > s.shadow_examples.len() as u64 {
        let _ = writeln!(out, "    … (first {} shown)", s.shadow_examples.len());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
