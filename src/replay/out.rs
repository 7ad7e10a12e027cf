//! `--out`: one line per replayed call, as CSV or JSON Lines. The JSON keys
//! are the evidence ledger's (`time`, `caller_number`, `caller_normalised`,
//! `verdict`, `rule`, …), so `callscreen report` reads a replay's output as
//! it reads the module's ledger.

use std::fmt::Write as _;
use std::io::Write;

pub use crate::summary::cells::{csv_field, json_string};

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
            o.profile,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Caller names and numbers come from robocallers, and `--out` CSV is
    /// opened in spreadsheets: what would start a formula is shown as text.
    #[test]
    fn a_hostile_caller_cannot_put_a_formula_in_the_csv() {
        let mut rec = CallRecord::default();
        rec.line = 2;
        rec.caller_number = "@SUM(1+1)*cmd|' /C calc'!A0".to_string();
        rec.caller_name = "=HYPERLINK(\"http://evil\",\"ok\")".to_string();
        rec.destination = "+8613300001111".to_string();
        let o = Outcome {
            time: rec.time,
            caller: Caller::Malformed,
            caller_number: &rec.caller_number,
            destination: &rec.destination,
            profile: "-home",
            verdict: "block",
            rule: "\tx",
            reason: "list",
            reply: "+busy",
            limit: "",
            shadow: "",
            line: rec.line,
        };
        let mut w = VerdictWriter::new(Vec::new(), Format::Csv).unwrap();
        w.write(&rec, &o, 0).unwrap();
        let text = String::from_utf8(w.finish().unwrap()).unwrap();
        let row = text.lines().nth(1).unwrap();
        assert_eq!(
            row,
            "2,1970-01-01T00:00:00Z,'@SUM(1+1)*cmd|' /C calc'!A0,\"'=HYPERLINK(\"\"http://evil\"\",\"\"ok\"\")\",\
             malformed,+8613300001111,'-home,block,'\tx,list,'+busy,,"
        );
    }
}
