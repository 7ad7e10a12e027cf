//! CSV histories: a header line naming the columns, then one call a line.
//! Fields follow RFC 4180 (quotes around fields holding commas, quotes or
//! line breaks; `""` for a quote). Blank lines and lines starting with `#`
//! are skipped.

use std::io::BufRead;

use super::{set_field, CallRecord, Field, FieldNames, HistoryError, ReadOptions, TimeReader, BOM};

/// Reads calls from CSV, one record at a time.
///
/// The common line (no quotes, whole in the input's buffer) is read where
/// it lies, in one pass that finds its end and its commas; only a line cut
/// by the end of the buffer, or one with quotes, is copied out first.
pub struct CsvReader<R: BufRead> {
    input: R,
    source_name: String,
    options: ReadOptions,
    /// The line the next read starts on (1-based).
    next_line: u64,
    header: Option<Vec<(Field, String)>>,
    raw: Vec<u8>,
    /// Unescaped field bytes of a record read by [`Self::read_record`].
    fields: Vec<u8>,
    /// Each field's start and end: in `fields`, or in the line read in place.
    spans: Vec<(usize, usize)>,
    times: TimeReader,
}

/// What a look at the input's buffer found.
enum InPlace {
    /// A record was read into the call.
    Read,
    /// A blank or comment line was passed over.
    Skipped,
    /// The next line is not whole in the buffer, or has quotes: read it
    /// the careful way.
    Slow,
    /// The end of the input.
    End,
}

impl<R: BufRead> CsvReader<R> {
    /// A reader over `input`; `source_name` is used in errors.
    pub fn new(input: R, source_name: &str, options: ReadOptions) -> Self {
        CsvReader {
            input,
            source_name: source_name.to_string(),
            options,
            next_line: 1,
            header: None,
            raw: Vec::with_capacity(256),
            fields: Vec::with_capacity(256),
            spans: Vec::with_capacity(16),
            times: TimeReader::default(),
        }
    }

    fn error(&self, line: u64, message: impl Into<String>) -> HistoryError {
        HistoryError::Line {
            source_name: self.source_name.clone(),
            line,
            message: message.into(),
        }
    }

    fn io_error(&self, error: std::io::Error) -> HistoryError {
        HistoryError::Io {
            source_name: self.source_name.clone(),
            error,
        }
    }

    /// Reads one physical line into `raw` (without its line break);
    /// `false` at the end of the input.
    fn read_physical_line(&mut self) -> Result<bool, HistoryError> {
        self.raw.clear();
        let n = match self.input.read_until(b'\n', &mut self.raw) {
            Ok(n) => n,
            Err(e) => return Err(self.io_error(e)),
        };
        if n == 0 {
            return Ok(false);
        }
        if self.next_line == 1 && self.raw.starts_with(BOM) {
            self.raw.drain(..BOM.len());
        }
        self.next_line += 1;
        if self.raw.last() == Some(&b'\n') {
            self.raw.pop();
        }
        if self.raw.last() == Some(&b'\r') {
            self.raw.pop();
        }
        Ok(true)
    }

    /// Reads the next record's fields into `fields` and `spans`; returns its
    /// first line, or `None` at the end of the input.
    fn read_record(&mut self) -> Result<Option<u64>, HistoryError> {
        loop {
            let line = self.next_line;
            if !self.read_physical_line()? {
                return Ok(None);
            }
            if skipped_line(&self.raw) {
                continue;
            }
            self.fields.clear();
            self.spans.clear();
            let mut in_quotes = false;
            let mut field_start = true;
            let mut start = 0;
            loop {
                let mut i = 0;
                while i < self.raw.len() {
                    let b = self.raw[i];
                    if in_quotes {
                        if b == b'"' {
                            if self.raw.get(i + 1) == Some(&b'"') {
                                self.fields.push(b'"');
                                i += 1;
                            } else {
                                in_quotes = false;
                            }
                        } else {
                            self.fields.push(b);
                        }
                    } else if b == b',' {
                        self.spans.push((start, self.fields.len()));
                        start = self.fields.len();
                        field_start = true;
                        i += 1;
                        continue;
                    } else if b == b'"' && field_start {
                        in_quotes = true;
                    } else {
                        self.fields.push(b);
                    }
                    field_start = false;
                    i += 1;
                }
                if !in_quotes {
                    break;
                }
                // A quoted field goes on to the next line.
                self.fields.push(b'\n');
                if !self.read_physical_line()? {
                    return Err(self.error(line, "a quoted field is never closed"));
                }
            }
            self.spans.push((start, self.fields.len()));
            return Ok(Some(line));
        }
    }

    fn read_header(&mut self) -> Result<bool, HistoryError> {
        let Some(line) = self.read_record()? else {
            return Ok(false);
        };
        let mut columns: Vec<(Field, String)> = Vec::with_capacity(self.spans.len());
        let mut given = FieldNames::default();
        for &(start, end) in &self.spans {
            let name = String::from_utf8_lossy(&self.fields[start..end])
                .trim()
                .to_string();
            let field = Field::of(&name);
            let repeated = columns.iter().any(|(_, n)| *n == name);
            given
                .give(field, &name, repeated, "column")
                .map_err(|m| self.error(line, m))?;
            columns.push((field, name));
        }
        let has = |f: Field| columns.iter().any(|(c, _)| *c == f);
        let missing: Vec<&str> = [
            (Field::Time, "time"),
            (Field::Caller, "caller"),
            (Field::Destination, "destination"),
        ]
        .iter()
        .filter(|(f, _)| !has(*f))
        .map(|(_, n)| *n)
        .collect();
        if !missing.is_empty() {
            let found: Vec<&str> = columns.iter().map(|(_, n)| n.as_str()).collect();
            return Err(self.error(
                line,
                format!(
                    "the header has no {} column (found: {}); the first line must name the columns",
                    missing.join(", "),
                    found.join(", ")
                ),
            ));
        }
        self.header = Some(columns);
        Ok(true)
    }

    /// Reads the next call into `record`; `false` at the end of the input.
    pub fn read_into(&mut self, record: &mut CallRecord) -> Result<bool, HistoryError> {
        if self.header.is_none() && !self.read_header()? {
            return Ok(false);
        }
        loop {
            match self.read_in_place(record)? {
                InPlace::Read => return Ok(true),
                InPlace::Skipped => continue,
                InPlace::End => return Ok(false),
                InPlace::Slow => break,
            }
        }
        let Some(line) = self.read_record()? else {
            return Ok(false);
        };
        fill(
            record,
            line,
            &self.fields,
            &self.spans,
            Context {
                columns: self.header.as_deref().unwrap_or(&[]),
                source_name: &self.source_name,
                options: self.options,
                times: &mut self.times,
            },
        )?;
        Ok(true)
    }

    /// Reads the next line where it lies in the input's buffer, if it is
    /// whole there and has no quotes.
    fn read_in_place(&mut self, record: &mut CallRecord) -> Result<InPlace, HistoryError> {
        let buf = match self.input.fill_buf() {
            Ok(buf) => buf,
            Err(e) => {
                return Err(HistoryError::Io {
                    source_name: self.source_name.clone(),
                    error: e,
                })
            }
        };
        if buf.is_empty() {
            return Ok(InPlace::End);
        }
        // One pass: the commas and the end of the line.
        self.spans.clear();
        let mut start = 0;
        let mut end = None;
        let spans = &mut self.spans;
        // What a special byte at `at` means: `Some(true)` at the end of the
        // line, `Some(false)` at a quote.
        let mut special = |at: usize| -> Option<bool> {
            match buf[at] {
                b',' => {
                    spans.push((start, at));
                    start = at + 1;
                    None
                }
                b'\n' => Some(true),
                _ => Some(false),
            }
        };
        let mut base = 0;
        'scan: while let Some(chunk) = buf.get(base..base + 8) {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            let mut found = special_bytes(u64::from_le_bytes(word));
            while found != 0 {
                let at = base + (found.trailing_zeros() / 8) as usize;
                found &= found - 1;
                match special(at) {
                    None => {}
                    Some(true) => {
                        end = Some(at);
                        break 'scan;
                    }
                    Some(false) => return Ok(InPlace::Slow),
                }
            }
            base += 8;
        }
        if end.is_none() {
            // The last few bytes of the buffer.
            let tail = buf.get(base..).unwrap_or(&[]);
            for (at, b) in (base..).zip(tail) {
                if matches!(b, b',' | b'"' | b'\n') {
                    match special(at) {
                        None => {}
                        Some(true) => {
                            end = Some(at);
                            break;
                        }
                        Some(false) => return Ok(InPlace::Slow),
                    }
                }
            }
        }
        let Some(end) = end else {
            return Ok(InPlace::Slow);
        };
        let text_end = if end > 0 && buf[end - 1] == b'\r' {
            end - 1
        } else {
            end
        };
        let text = &buf[..text_end];
        self.spans.push((start.min(text_end), text_end));
        let line = self.next_line;
        self.next_line += 1;
        let result = if skipped_line(text) {
            Ok(InPlace::Skipped)
        } else {
            fill(
                record,
                line,
                text,
                &self.spans,
                Context {
                    columns: self.header.as_deref().unwrap_or(&[]),
                    source_name: &self.source_name,
                    options: self.options,
                    times: &mut self.times,
                },
            )
            .map(|()| InPlace::Read)
        };
        self.input.consume(end + 1);
        result
    }
}

/// Finding the bytes that matter to a CSV line (`,` `"` and the line
/// break) eight bytes at a time: a byte equal to one of them becomes zero
/// when XORed with it, and zero bytes are found without carries between
/// bytes, so every place found is exact.
const ONES: u64 = 0x0101_0101_0101_0101;
const LOW7: u64 = 0x7F7F_7F7F_7F7F_7F7F;

/// The high bit of each zero byte of `x`.
fn zero_bytes(x: u64) -> u64 {
    !(((x & LOW7) + LOW7) | x | LOW7)
}

/// The high bit of each byte of `word` that is `,`, `"` or a line break.
fn special_bytes(word: u64) -> u64 {
    zero_bytes(word ^ (ONES * u64::from(b',')))
        | zero_bytes(word ^ (ONES * u64::from(b'"')))
        | zero_bytes(word ^ (ONES * u64::from(b'\n')))
}

/// Whether a line is passed over: blank, or a `#` comment.
fn skipped_line(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace) || line.first() == Some(&b'#')
}

/// What filling a record needs besides the record's bytes.
struct Context<'a> {
    columns: &'a [(Field, String)],
    source_name: &'a str,
    options: ReadOptions,
    times: &'a mut TimeReader,
}

/// Fills `record` with the fields of one CSV record, found at `spans` of
/// `bytes`.
fn fill(
    record: &mut CallRecord,
    line: u64,
    bytes: &[u8],
    spans: &[(usize, usize)],
    c: Context<'_>,
) -> Result<(), HistoryError> {
    let error = |message: String| HistoryError::Line {
        source_name: c.source_name.to_string(),
        line,
        message,
    };
    if spans.len() != c.columns.len() {
        return Err(error(format!(
            "{} fields, but the header names {} columns",
            spans.len(),
            c.columns.len()
        )));
    }
    record.clear();
    record.line = line;
    let mut has_time = false;
    // Checked once for the whole record; fields split at ASCII commas and
    // quotes, so each is valid where the whole is, and is kept as a piece
    // of the record's one copy of the whole.
    let whole = std::str::from_utf8(bytes).ok();
    if let Some(t) = whole {
        record.set_line(t);
    }
    for ((field, name), &(start, end)) in c.columns.iter().zip(spans) {
        let text = match whole {
            Some(t) => std::borrow::Cow::Borrowed(&t[start..end]),
            // A hostile caller name is data: keep what can be read.
            None => String::from_utf8_lossy(&bytes[start..end]),
        };
        if *field == Field::Time {
            if text.trim().is_empty() {
                continue;
            }
            has_time = true;
        } else if whole.is_some() {
            record.set_from_line(*field, name, start, end);
            continue;
        }
        set_field(record, *field, name, &text, c.options, c.times)
            .map_err(|m| error(format!("column {name}: {m}")))?;
    }
    if !has_time {
        return Err(error("the call has no time".to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timefmt::epoch_seconds;

    fn read_all(text: &str) -> Result<Vec<CallRecord>, HistoryError> {
        let mut r = CsvReader::new(text.as_bytes(), "calls.csv", ReadOptions::default());
        let mut out = Vec::new();
        let mut rec = CallRecord::default();
        while r.read_into(&mut rec)? {
            out.push(rec.clone());
        }
        Ok(out)
    }

    #[test]
    fn columns_are_found_by_name_in_any_order() {
        let calls = read_all(
            "# a comment\ncaller,destination,time,caller_name,sip_user_agent\n\
             017012345678,4000,2024-05-01T08:00:00+08:00,\"Shop, Ltd\",Dialer 1.0\n\
             \n\
             anonymous,4000,1714521600,,\n",
        )
        .unwrap();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].line, 3);
        assert_eq!(calls[0].caller_number(), "017012345678");
        assert_eq!(calls[0].caller_name(), "Shop, Ltd");
        assert_eq!(calls[0].variable("sip_user_agent"), Some("Dialer 1.0"));
        assert_eq!(epoch_seconds(calls[0].time), 1_714_521_600);
        assert_eq!(calls[1].line, 5);
        assert_eq!(calls[1].caller_number(), "anonymous");
    }

    #[test]
    fn quotes_may_hold_quotes_and_line_breaks() {
        let calls = read_all(
            "time,caller,destination,caller_name\r\n\
             0,1,4000,\"say \"\"hi\"\"\nagain\"\r\n\
             0,2,4000,x\r\n",
        )
        .unwrap();
        assert_eq!(calls[0].caller_name(), "say \"hi\"\nagain");
        assert_eq!(calls[1].line, 4);
    }

    #[test]
    fn errors_name_the_line() {
        let err = read_all("time,caller,destination\n0,1,4000\n0,1\n")
            .unwrap_err()
            .to_string();
        assert_eq!(err, "calls.csv:3: 2 fields, but the header names 3 columns");

        let err = read_all("time,caller,destination\n\n0,1,4000\nsoon,1,4000\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("calls.csv:4: column time: cannot read time \"soon\""),
            "{err}"
        );

        let err = read_all("when,caller,destination\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("calls.csv:1: the header has no time column"),
            "{err}"
        );

        let err = read_all("time,caller,destination\n0,\"1,4000\n")
            .unwrap_err()
            .to_string();
        assert_eq!(err, "calls.csv:2: a quoted field is never closed");

        let err = read_all("time,caller,destination\n,1,4000\n")
            .unwrap_err()
            .to_string();
        assert_eq!(err, "calls.csv:2: the call has no time");
    }

    #[test]
    fn a_repeated_column_is_refused_not_joined() {
        let err = read_all("time,caller,destination,caller\n0,13800138000,4000,2\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "calls.csv:1: the column caller is repeated: two values for the caller; keep one"
        );
        let err = read_all("# exported\ntime,caller_id_number,destination,from\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "calls.csv:2: the columns caller_id_number and from both give the caller; keep one"
        );
        let err = read_all("time,caller,destination,sip_user_agent,sip_user_agent\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("calls.csv:1: the column sip_user_agent is repeated: two values for the channel variable sip_user_agent"),
            "{err}"
        );
    }

    #[test]
    fn a_byte_order_mark_is_not_part_of_the_first_column() {
        // Excel's "CSV UTF-8" starts the file with U+FEFF.
        let calls = read_all("\u{feff}time,caller,destination\n0,13800138000,4000\n").unwrap();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].caller_number(), "13800138000");
        // Only at the very start: elsewhere it is data.
        let calls = read_all("time,caller,destination,caller_name\n0,1,4000,\u{feff}x\n").unwrap();
        assert_eq!(calls[0].caller_name(), "\u{feff}x");
    }

    #[test]
    fn special_bytes_are_found_exactly() {
        // Every byte value, and each special byte next to near misses.
        let mut buf: Vec<u8> = (0..=255u8).collect();
        buf.extend_from_slice(b",\x01\x00\"\x01\n,,\x2b\x2d\x0b\x21\x23\x0a\x2c\x22");
        for word in buf.windows(8) {
            let mut bytes = [0u8; 8];
            bytes.copy_from_slice(word);
            let found = special_bytes(u64::from_le_bytes(bytes));
            for (i, b) in word.iter().enumerate() {
                let flagged = found & (0xFF << (8 * i));
                let want = if matches!(b, b',' | b'"' | b'\n') {
                    0x80 << (8 * i)
                } else {
                    0
                };
                assert_eq!(flagged, want, "byte {b:#04x} at {i} of {word:?}");
            }
        }
    }

    /// Lines are read in place when whole in the input's buffer, copied
    /// out when the buffer ends inside them: the calls are the same.
    #[test]
    fn any_buffer_size_reads_the_same_calls() {
        let text = "time,caller,destination,caller_name,ua\r\n\
            2024-05-01T08:00:00+08:00,017012345678,4000,\"Shop, Ltd\",a\r\n\
            # a comment\n\
            \n\
            2024-05-01T08:00:07+08:00,anonymous,4000,,\n\
            2024-05-01T08:01:07+08:00,13800138000,4001,\"two\nlines\",b\n\
            1714521700,+8613800138000,4001,Zoë,\n\
            2024-05-01T08:02:07+08:00,1,2,3,4";
        let read = |capacity: usize| {
            let input = std::io::BufReader::with_capacity(capacity, text.as_bytes());
            let mut r = CsvReader::new(input, "calls.csv", ReadOptions::default());
            let mut out = Vec::new();
            let mut rec = CallRecord::default();
            while r.read_into(&mut rec).unwrap() {
                out.push(format!("{rec:?}"));
            }
            out
        };
        let whole = read(1 << 16);
        assert_eq!(whole.len(), 5);
        for capacity in 1..text.len() {
            assert_eq!(read(capacity), whole, "buffer of {capacity} bytes");
        }
    }

    /// A caller name that is not UTF-8 is data: read with replacement
    /// characters, the other fields as they are.
    #[test]
    fn bytes_that_are_not_utf8_are_kept_as_far_as_they_can_be() {
        let text = b"time,caller,caller_name,destination,ua\n0,13800138000,Bad\xff\xfeName,4000,x\n0,1,ok,4001,y\n";
        let mut r = CsvReader::new(&text[..], "calls.csv", ReadOptions::default());
        let mut rec = CallRecord::default();
        assert!(r.read_into(&mut rec).unwrap());
        assert_eq!(rec.caller_name(), "Bad\u{fffd}\u{fffd}Name");
        assert_eq!(
            (rec.caller_number(), rec.destination(), rec.variable("ua")),
            ("13800138000", "4000", Some("x"))
        );
        assert!(r.read_into(&mut rec).unwrap());
        assert_eq!(
            (
                rec.caller_number(),
                rec.caller_name(),
                rec.destination(),
                rec.variable("ua")
            ),
            ("1", "ok", "4001", Some("y"))
        );
    }

    #[test]
    fn an_empty_file_has_no_calls() {
        assert!(read_all("").unwrap().is_empty());
        assert!(read_all("time,caller,destination\n").unwrap().is_empty());
    }
}
