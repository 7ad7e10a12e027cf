//! `--out`: one line per replayed call, as CSV or JSON Lines. The JSON keys
//! are the evidence ledger's (`time`, `caller_number`, `caller_normalised`,
//! `verdict`, `rule`, …), so `callscreen report` reads a replay's output as
//! it reads the module's ledger.

use std::fmt::Write as _;
use std::io::Write;

use crate::history::{CallRecord, Format};
use crate::numbers::Caller;
use crate::summary::Outcome;
use crate::timefmt::write_rfc3339_at;

/// The columns of a verdict line, in order.
pub const COLUMNS: &[&str] = &[
    "line",
    "time",
    "caller_number",
    "caller_name",
    "caller_normalised",
    "destination",
    "profile",
    "verdict",
    "rule",
    "reason",
    "reply",
    "limit",
    "shadow",
];

/// Writes verdict lines.
pub struct VerdictWriter<W: Write> {
    out: W,
    format: Format,
    line: String,
    caller: String,
    scratch: String,
}

impl<W: Write> VerdictWriter<W> {
    /// A writer of `format`; CSV gets its header line now.
    pub fn new(mut out: W, format: Format) -> std::io::Result<Self> {
        if format == Format::Csv {
            writeln!(out, "{}", COLUMNS.join(","))?;
        }
        Ok(VerdictWriter {
            out,
            format,
            line: String::with_capacity(256),
            caller: String::with_capacity(32),
            scratch: String::with_capacity(48),
        })
    }

    /// Writes one call's verdict; times at `offset` seconds east of UTC.
    pub fn write(&mut self, rec: &CallRecord, o: &Outcome<'_>, offset: i32) -> std::io::Result<()> {
        self.line.clear();
        self.caller.clear();
        match o.caller {
            Caller::Number(n) => {
                self.caller.push('+');
                self.caller.push_str(n.digits().as_str());
            }
            other => self.caller.push_str(other.class_name()),
        }
        self.scratch.clear();
        let _ = write!(self.scratch, "{}", rec.line);
        let split = self.scratch.len();
        write_rfc3339_at(&mut self.scratch, rec.time, rec.offset.unwrap_or(offset));
        let (line_no, time) = self.scratch.split_at(split);
        let values: [&str; 13] = [
            line_no,
            time,
            &rec.caller_number,
            &rec.caller_name,
            &self.caller,
            &rec.destination,
            &rec.profile,
            o.verdict,
            o.rule,
            o.reason,
            o.reply,
            o.limit,
            o.shadow,
        ];
        match self.format {
            Format::Csv => {
                for (i, v) in values.iter().enumerate() {
                    if i > 0 {
                        self.line.push(',');
                    }
                    csv_field(&mut self.line, v);
                }
            }
            Format::JsonLines => {
                self.line.push('{');
                for (i, (k, v)) in COLUMNS.iter().zip(values.iter()).enumerate() {
                    if i > 0 {
                        self.line.push(',');
                    }
                    self.line.push('"');
                    self.line.push_str(k);
                    self.line.push_str("\":");
                    if *k == "line" {
                        self.line.push_str(v);
                    } else {
                        json_string(&mut self.line, v);
                    }
                }
                self.line.push('}');
            }
        }
        self.line.push('\n');
        self.out.write_all(self.line.as_bytes())
    }

    /// Flushes the output.
    pub fn finish(mut self) -> std::io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Appends a CSV field, quoted when it must be.
pub fn csv_field(out: &mut String, v: &str) {
    if v.contains([',', '"', '\n', '\r']) {
        out.push('"');
        for c in v.chars() {
            if c == '"' {
                out.push('"');
            }
            out.push(c);
        }
        out.push('"');
    } else {
        out.push_str(v);
    }
}

/// Appends a JSON string literal.
pub fn json_string(out: &mut String, v: &str) {
    out.push('"');
    if !v.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        out.push_str(v);
        out.push('"');
        return;
    }
    for c in v.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_escaped() {
        let mut s = String::new();
        csv_field(&mut s, "a,\"b\"");
        assert_eq!(s, "\"a,\"\"b\"\"\"");
        let mut s = String::new();
        json_string(&mut s, "a\"\\\n\u{1}é");
        assert_eq!(s, "\"a\\\"\\\\\\n\\u0001é\"");
    }
}
