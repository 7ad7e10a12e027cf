//! `--html`: the summary as one self-contained HTML page. Charts are inline
//! SVG drawn here, with no script, font or style fetched from anywhere (a
//! Content-Security-Policy of `default-src 'none'` makes sure), so the page
//! reads the same offline, attached to an e-mail or handed to a regulator.
//!
//! Each chart is an `<svg class="chart" id="chart-…">` carrying
//! `data-total` (calls drawn) and `data-bars`; each bar is a
//! `<rect class="bar">` with `data-series`, `data-bucket` and `data-count`,
//! and a `<title>` a browser shows as a tooltip.

use std::fmt::Write as _;

use super::text::thousands;
use super::{Buckets, Summary, Tally};
use crate::timefmt::{civil_from_days, rfc3339_at};

/// Most hourly bars drawn (the last 31 days of the period).
pub const MAX_HOURS: usize = 24 * 31;
/// Most daily bars drawn (the last two years of the period).
pub const MAX_DAYS: usize = 731;
/// Prefixes in the top-prefixes chart.
pub const TOP_PREFIXES: usize = 15;

const PALETTE: &[&str] = &[
    "#d1495b", "#edae49", "#00798c", "#30638e", "#7a5195", "#66a182", "#8d6a9f", "#e07a5f",
    "#3d405b", "#81b29a",
];

const WIDTH: f64 = 960.0;
const HEIGHT: f64 = 260.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 36.0;

/// Escapes text for HTML content and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c if c.is_control() && c != '\n' && c != '\t' => out.push('\u{fffd}'),
            c => out.push(c),
        }
    }
    out
}

fn color(i: usize) -> &'static str {
    PALETTE[i % PALETTE.len()]
}

/// `YYYY-MM-DD` of a local bucket start (seconds).
fn day_label(local: i64) -> String {
    let (y, m, d) = civil_from_days(local.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

fn bucket_label(local: i64, step: i64) -> String {
    if step >= 86_400 {
        day_label(local)
    } else {
        format!(
            "{} {:02}:00",
            day_label(local),
            local.rem_euclid(86_400) / 3600
        )
    }
}

/// A nice round number at or above `n` for the y axis.
fn axis_max(n: u64) -> u64 {
    let n = n.max(1);
    let mut step = 1u64;
    while step * 10 <= n {
        step *= 10;
    }
    for m in [1, 2, 5, 10] {
        if step * m >= n {
            return step * m;
        }
    }
    step * 10
}

/// Stacked bars over time, one bar per `step` seconds from the first to the
/// last bucket (at most `max_bars`, the latest kept).
fn time_chart(out: &mut String, id: &str, label: &str, b: &Buckets, step: i64, max_bars: usize) {
    let (Some(&first), Some(&last)) = (b.counts.keys().next(), b.counts.keys().next_back()) else {
        empty_chart(out, id, label, "No blocked calls in this period.");
        return;
    };
    let n_all = ((last - first) / step + 1) as usize;
    let n = n_all.min(max_bars);
    let start = last - (n as i64 - 1) * step;
    let totals: Vec<u64> = (0..n)
        .map(|i| {
            b.counts
                .get(&(start + i as i64 * step))
                .map(|r| r.iter().sum())
                .unwrap_or(0)
        })
        .collect();
    let drawn: u64 = totals.iter().sum();
    let ymax = axis_max(totals.iter().copied().max().unwrap_or(0));
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let bar_w = plot_w / n as f64;
    let _ = write!(
        out,
        "<svg class=\"chart\" id=\"{id}\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" \
         data-bars=\"{n}\" data-total=\"{drawn}\" data-step=\"{step}\">",
        esc(label)
    );
    axes(out, ymax, plot_h);
    let names: Vec<&str> = b.series.names().collect();
    for (i, total) in totals.iter().enumerate() {
        let key = start + i as i64 * step;
        let Some(row) = b.counts.get(&key) else {
            continue;
        };
        let x = LEFT + i as f64 * bar_w;
        let mut y = TOP + plot_h;
        for (s, &count) in row.iter().enumerate() {
            if count == 0 {
                continue;
            }
            let h = count as f64 / ymax as f64 * plot_h;
            y -= h;
            let _ = write!(
                out,
                "<rect class=\"bar\" x=\"{x:.2}\" y=\"{y:.2}\" width=\"{:.2}\" height=\"{h:.2}\" \
                 fill=\"{}\" data-series=\"{}\" data-bucket=\"{}\" data-count=\"{count}\">\
                 <title>{}: {} {} (of {})</title></rect>",
                (bar_w * 0.9).max(0.5),
                color(s),
                esc(names[s]),
                bucket_label(key, step),
                bucket_label(key, step),
                thousands(count),
                esc(names[s]),
                thousands(*total)
            );
        }
    }
    // Date labels: at most about 10, on day starts.
    let days = (n as i64 * step / 86_400).max(1);
    let every_days = ((days + 9) / 10).max(1);
    for i in 0..n {
        let key = start + i as i64 * step;
        if key.rem_euclid(86_400) != 0 || (key.div_euclid(86_400)) % every_days != 0 {
            continue;
        }
        let x = LEFT + i as f64 * bar_w;
        let _ = write!(
            out,
            "<line x1=\"{x:.2}\" y1=\"{:.2}\" x2=\"{x:.2}\" y2=\"{:.2}\" class=\"tick\"/>\
             <text x=\"{x:.2}\" y=\"{:.2}\" class=\"xlabel\">{}</text>",
            TOP + plot_h,
            TOP + plot_h + 5.0,
            TOP + plot_h + 18.0,
            &day_label(key)[5..]
        );
    }
    out.push_str("</svg>");
    legend(out, &b.series);
    if n < n_all {
        let _ = write!(
            out,
            "<p class=\"note\">The last {n} of {n_all} {} of the period are drawn.</p>",
            if step >= 86_400 { "days" } else { "hours" }
        );
    }
}

fn axes(out: &mut String, ymax: u64, plot_h: f64) {
    for value in [0, ymax / 2, ymax] {
        let y = TOP + plot_h - value as f64 / ymax as f64 * plot_h;
        let _ = write!(
            out,
            "<line x1=\"{LEFT}\" y1=\"{y:.2}\" x2=\"{:.2}\" y2=\"{y:.2}\" class=\"grid\"/>\
             <text x=\"{:.2}\" y=\"{:.2}\" class=\"ylabel\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            y + 4.0,
            thousands(value)
        );
    }
}

fn legend(out: &mut String, series: &Tally) {
    out.push_str("<ul class=\"legend\">");
    for (i, name) in series.names().enumerate() {
        let _ = write!(
            out,
            "<li><span class=\"swatch\" style=\"background:{}\"></span>{} <small>{}</small></li>",
            color(i),
            esc(name),
            thousands(series.get(name))
        );
    }
    out.push_str("</ul>");
}

fn empty_chart(out: &mut String, id: &str, label: &str, message: &str) {
    let _ = write!(
        out,
        "<svg class=\"chart empty\" id=\"{id}\" role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {WIDTH} 60\" \
         data-bars=\"0\" data-total=\"0\"><text x=\"{}\" y=\"34\" class=\"emptytext\">{}</text></svg>",
        esc(label),
        WIDTH / 2.0,
        esc(message)
    );
}

fn prefix_chart(out: &mut String, s: &Summary) {
    let id = "chart-prefixes";
    let label = "Top blocked prefixes";
    let top = s.blocked_prefixes.top(TOP_PREFIXES);
    if top.is_empty() {
        empty_chart(out, id, label, "No blocked call had a number.");
        return;
    }
    let row_h = 22.0;
    let height = TOP + row_h * top.len() as f64 + 8.0;
    let label_w = 150.0;
    let plot_w = WIDTH - label_w - 90.0;
    let max = top[0].count.max(1);
    let total: u64 = top.iter().map(|r| r.count).sum();
    let _ = write!(
        out,
        "<svg class=\"chart\" id=\"{id}\" role=\"img\" aria-label=\"{label}\" viewBox=\"0 0 {WIDTH} {height}\" \
         data-bars=\"{}\" data-total=\"{total}\">",
        top.len()
    );
    for (i, r) in top.iter().enumerate() {
        let y = TOP + i as f64 * row_h;
        let w = (r.count as f64 / max as f64 * plot_w).max(1.0);
        let prefix = format!("{}…", r.key);
        let approx = if r.error > 0 { "≈" } else { "" };
        let _ = write!(
            out,
            "<text x=\"{:.2}\" y=\"{:.2}\" class=\"ylabel\">{prefix}</text>\
             <rect class=\"bar\" x=\"{label_w}\" y=\"{y:.2}\" width=\"{w:.2}\" height=\"{:.2}\" fill=\"{}\" \
             data-series=\"prefix\" data-bucket=\"{}\" data-count=\"{}\"><title>{prefix}: {approx}{} blocked calls</title></rect>\
             <text x=\"{:.2}\" y=\"{:.2}\" class=\"value\">{approx}{}</text>",
            label_w - 8.0,
            y + 15.0,
            row_h - 6.0,
            color(0),
            r.key,
            r.count,
            thousands(r.count),
            label_w + w + 6.0,
            y + 15.0,
            thousands(r.count)
        );
    }
    out.push_str("</svg>");
    let _ = write!(
        out,
        "<p class=\"note\">A prefix is {}.</p>",
        esc(&s.prefix_rule.describe())
    );
}

fn tally_table(out: &mut String, title: &str, t: &Tally, of: u64) {
    let _ = write!(out, "<table><caption>{}</caption>", esc(title));
    let rows = t.sorted();
    if rows.is_empty() {
        out.push_str("<tr><td colspan=\"3\" class=\"none\">none</td></tr>");
    }
    for (name, n) in rows {
        let pct = if of == 0 {
            0.0
        } else {
            n as f64 * 100.0 / of as f64
        };
        let _ = write!(
            out,
            "<tr><th>{}</th><td>{}</td><td>{pct:.1}%</td></tr>",
            esc(if name.is_empty() { "(none)" } else { name }),
            thousands(n)
        );
    }
    out.push_str("</table>");
}

const STYLE: &str = "
body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:18px 28px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#c9cfdb}main{padding:8px 28px 40px;max-width:1100px}
section{background:#fff;border:1px solid #e1e4ea;border-radius:8px;padding:14px 18px;margin:16px 0}
h2{font-size:17px;margin:0 0 8px}.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{background:#fff;border:1px solid #e1e4ea;border-radius:8px;padding:10px 16px;min-width:140px}
.card b{display:block;font-size:24px}.card span{color:#5b6475;font-size:13px}
svg.chart{width:100%;height:auto;display:block}.grid{stroke:#e6e8ee}.tick{stroke:#9aa3b2}
.ylabel{font-size:11px;fill:#5b6475;text-anchor:end}.xlabel{font-size:11px;fill:#5b6475;text-anchor:middle}
.value{font-size:11px;fill:#1d2330}.emptytext{font-size:14px;fill:#5b6475;text-anchor:middle}
.legend{list-style:none;padding:0;margin:6px 0 0;display:flex;flex-wrap:wrap;gap:14px;font-size:13px}
.swatch{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:5px;vertical-align:-1px}
.tables{display:flex;flex-wrap:wrap;gap:18px;align-items:flex-start}table{border-collapse:collapse;font-size:13px;min-width:220px}
caption{text-align:left;font-weight:600;padding-bottom:4px}th,td{padding:3px 8px;border-bottom:1px solid #eef0f4;text-align:left}
td{text-align:right;font-variant-numeric:tabular-nums}.none{color:#8a93a3;text-align:left}
.note{color:#5b6475;font-size:12px;margin:4px 0 0}code{font-size:12px}
";

/// Renders the whole page: `title`, then `notes` (one line each: where the
/// calls came from, the config, …), the cards, the charts and the tables.
pub fn render(s: &Summary, title: &str, notes: &[String]) -> String {
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; img-src data:\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{}</title><style>{STYLE}</style></head><body><header><h1>{}</h1>",
        esc(title),
        esc(title)
    );
    for n in notes {
        let _ = write!(out, "<p>{}</p>", esc(n));
    }
    if let Some((a, b)) = s.span {
        let _ = write!(
            out,
            "<p>Calls from {} to {} (hours and days at UTC{}).</p>",
            rfc3339_at(a, s.offset),
            rfc3339_at(b, s.offset),
            offset_text(s.offset)
        );
    }
    out.push_str("</header><main>");

    let blocked = s.blocked();
    let limits = s.by_limit.total();
    let shadow = s.shadow.total();
    let _ = write!(
        out,
        "<section class=\"cards\" id=\"totals\" data-calls=\"{}\" data-blocked=\"{blocked}\">\
         <div class=\"card\"><b>{}</b><span>calls</span></div>\
         <div class=\"card\"><b>{}</b><span>blocked ({:.1}%)</span></div>\
         <div class=\"card\"><b>{}</b><span>allowed</span></div>\
         <div class=\"card\"><b>{}</b><span>blocked by a limit</span></div>\
         <div class=\"card\"><b>{}</b><span>allowed, a shadow rule would block</span></div></section>",
        s.calls,
        thousands(s.calls),
        thousands(blocked),
        if s.calls == 0 { 0.0 } else { blocked as f64 * 100.0 / s.calls as f64 },
        thousands(s.by_verdict.get("allow")),
        thousands(limits),
        thousands(shadow)
    );

    out.push_str("<section><h2>Screened calls per hour, by reason</h2>");
    time_chart(
        &mut out,
        "chart-hourly",
        "Blocked calls per hour by reason",
        &s.hourly,
        3600,
        MAX_HOURS,
    );
    out.push_str("</section><section><h2>Screened calls per day, by reason</h2>");
    time_chart(
        &mut out,
        "chart-daily",
        "Blocked calls per day by reason",
        &s.daily,
        86_400,
        MAX_DAYS,
    );
    out.push_str("</section><section><h2>Top blocked prefixes</h2>");
    prefix_chart(&mut out, s);
    out.push_str("</section><section><h2>Pool and rate-limit detections per day, by limit</h2>");
    if s.limits_daily.counts.is_empty() {
        empty_chart(
            &mut out,
            "chart-pools",
            "Pool and rate-limit detections per day",
            "No call was blocked by a rate or pool limit in this period.",
        );
    } else {
        time_chart(
            &mut out,
            "chart-pools",
            "Pool and rate-limit detections per day",
            &s.limits_daily,
            86_400,
            MAX_DAYS,
        );
    }
    out.push_str("</section><section><h2>Counts</h2><div class=\"tables\">");
    tally_table(&mut out, "By verdict", &s.by_verdict, s.calls);
    tally_table(&mut out, "By reason", &s.by_reason, s.calls);
    tally_table(&mut out, "By rule", &s.by_rule, s.calls);
    tally_table(&mut out, "Blocked, by limit", &s.by_limit, blocked);
    tally_table(&mut out, "Blocked, by reply", &s.by_reply, blocked);
    out.push_str("<table><caption>Top blocked callers</caption>");
    let callers = s.blocked_callers.top(15);
    if callers.is_empty() && s.blocked_without_number.total() == 0 {
        out.push_str("<tr><td colspan=\"2\" class=\"none\">none</td></tr>");
    }
    for r in callers {
        let approx = if r.error > 0 { "≈" } else { "" };
        let _ = write!(
            out,
            "<tr><th>{}</th><td>{approx}{}</td></tr>",
            r.key,
            thousands(r.count)
        );
    }
    for (class, n) in s.blocked_without_number.sorted() {
        let _ = write!(
            out,
            "<tr><th>({})</th><td>{}</td></tr>",
            esc(class),
            thousands(n)
        );
    }
    out.push_str("</table></div></section>");

    let _ = write!(
        out,
        "<section id=\"shadow\"><h2>Allowed calls a shadow rule would have blocked: {}</h2>",
        thousands(shadow)
    );
    if shadow == 0 {
        out.push_str("<p class=\"note\">None.</p>");
    } else {
        tally_table(&mut out, "By shadow rule", &s.shadow, shadow);
        out.push_str("<table><caption>First calls</caption><tr><th>line</th><th>time</th><th>caller</th><th>to</th><th>allowed by</th><th>shadow rule</th></tr>");
        for e in &s.shadow_examples {
            let _ = write!(
                out,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                e.line,
                rfc3339_at(e.time, s.offset),
                esc(&e.caller),
                esc(&e.destination),
                esc(&e.rule),
                esc(&e.shadow)
            );
        }
        out.push_str("</table>");
    }
    let _ = writeln!(
        out,
        "</section><p class=\"note\">Made by callscreen {}, offline: this page loads nothing \
         from anywhere.</p></main></body></html>",
        env!("CARGO_PKG_VERSION")
    );
    out
}

fn offset_text(offset: i32) -> String {
    if offset == 0 {
        return String::new();
    }
    let sign = if offset < 0 { '-' } else { '+' };
    let a = offset.unsigned_abs();
    format!("{sign}{:02}:{:02}", a / 3600, a % 3600 / 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::summary::{Outcome, PrefixRule};
    use crate::timefmt::parse_timestamp;

    fn summary() -> Summary {
        let plan = crate::numbers::NumberPlan::default();
        let mut s = Summary::new(PrefixRule::default(), 0);
        for (t, caller, reason, limit) in [
            ("2024-05-01T10:10:00Z", "017012340001", "list", ""),
            (
                "2024-05-01T10:20:00Z",
                "017012340002",
                "limit",
                "pool<script>",
            ),
            ("2024-05-02T11:00:00Z", "anonymous", "anonymous", ""),
        ] {
            s.add(&Outcome {
                time: parse_timestamp(t, 0).unwrap().time,
                caller: plan.classify(caller),
                caller_number: caller,
                destination: "4000",
                profile: "default",
                verdict: "block",
                rule: "r",
                reason,
                reply: "busy",
                limit,
                shadow: "",
                line: 1,
            });
        }
        s
    }

    #[test]
    fn the_page_has_every_chart_and_no_outside_resource() {
        let html = render(&summary(), "Report <x>", &["from a.jsonl".into()]);
        for id in [
            "chart-hourly",
            "chart-daily",
            "chart-prefixes",
            "chart-pools",
        ] {
            assert!(html.contains(&format!("id=\"{id}\"")), "{id} missing");
        }
        // 26 hours from the first to the last bucket, 3 calls drawn.
        assert!(html.contains("id=\"chart-hourly\" role=\"img\" aria-label=\"Blocked calls per hour by reason\" viewBox=\"0 0 960 260\" data-bars=\"26\" data-total=\"3\""));
        assert!(html.contains("data-series=\"pool&lt;script&gt;\""));
        assert!(html.contains("<title>Report &lt;x&gt;</title>"));
        assert!(!html.contains("<script"), "no script, no injected tag");
        assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("src="));
    }

    #[test]
    fn empty_summaries_still_make_a_page() {
        let html = render(&Summary::new(PrefixRule::default(), 0), "Empty", &[]);
        assert!(html.contains("id=\"chart-hourly\""));
        assert!(html.contains("No blocked calls in this period."));
    }

    #[test]
    fn axis_maxima_are_round() {
        assert_eq!(axis_max(0), 1);
        assert_eq!(axis_max(7), 10);
        assert_eq!(axis_max(13), 20);
        assert_eq!(axis_max(420), 500);
    }
}
