//! `--out`: one line per replayed call, as CSV or JSON Lines. The JSON keys
//! are the evidence ledger's (`time`, `caller_number`, `caller_normalised`,
//! `verdict`, `rule`, …), so `callscreen report` reads a replay's output as
//! it reads the module's ledger.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

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
            rec.caller_number(),
            rec.caller_name(),
            &self.caller,
            rec.destination(),
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

/// A file written under a temporary name beside its own and renamed into
/// place by [`OutFile::commit`]: a replay that stops on an error leaves no
/// half-written file, and a file already at that path stays as it was.
/// A path that is not a regular file (`/dev/stdout`, a named pipe) is
/// written directly.
pub struct OutFile {
    path: PathBuf,
    /// The temporary file, until committed.
    temp: Option<PathBuf>,
    writer: Option<BufWriter<File>>,
}

impl OutFile {
    /// Starts writing `path`.
    pub fn create(path: &Path) -> std::io::Result<OutFile> {
        let special = std::fs::metadata(path).is_ok_and(|m| !m.is_file());
        let temp = (!special).then(|| {
            let name = path
                .file_name()
                .map_or_else(|| "out".into(), |n| n.to_string_lossy().into_owned());
            path.with_file_name(format!(".{name}.partial-{}", std::process::id()))
        });
        let file = File::create(temp.as_deref().unwrap_or(path))?;
        Ok(OutFile {
            path: path.to_path_buf(),
            temp,
            writer: Some(BufWriter::with_capacity(256 * 1024, file)),
        })
    }

    /// Flushes the file and puts it in place.
    pub fn commit(mut self) -> std::io::Result<()> {
        if let Some(w) = self.writer.take() {
            w.into_inner().map_err(|e| e.into_error())?;
        }
        match self.temp.take() {
            Some(temp) => std::fs::rename(&temp, &self.path).map_err(|e| {
                let _ = std::fs::remove_file(&temp);
                e
            }),
            None => Ok(()),
        }
    }

    fn writer(&mut self) -> &mut BufWriter<File> {
        // Only `commit` (which consumes the file) takes the writer.
        self.writer
            .as_mut()
            .expect("an OutFile is written before commit")
    }
}

impl Write for OutFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.writer().write(buf)
    }

    fn write_all(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.writer().write_all(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.writer().flush()
    }
}

impl Drop for OutFile {
    fn drop(&mut self) {
        if let Some(temp) = self.temp.take() {
            drop(self.writer.take());
            let _ = std::fs::remove_file(temp);
        }
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
        rec.set_caller_number("@SUM(1+1)*cmd|' /C calc'!A0");
        rec.set_caller_name("=HYPERLINK(\"http://evil\",\"ok\")");
        rec.set_destination("+8613300001111");
        let o = Outcome {
            time: rec.time,
            caller: Caller::Malformed,
            caller_number: rec.caller_number(),
            destination: rec.destination(),
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

    #[test]
    fn an_out_file_appears_only_when_committed() {
        let dir = std::env::temp_dir().join(format!("callscreen-outfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("verdicts.csv");
        std::fs::write(&path, "earlier\n").unwrap();

        let mut f = OutFile::create(&path).unwrap();
        f.write_all(b"half").unwrap();
        drop(f);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "earlier\n");

        let mut f = OutFile::create(&path).unwrap();
        f.write_all(b"whole\n").unwrap();
        f.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "whole\n");
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name())
            .collect();
        assert_eq!(names, ["verdicts.csv"], "no temporary file left");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
