//! CSV histories: a header line naming the columns, then one call a line.
//! Fields follow RFC 4180 (quotes around fields holding commas, quotes or
//! line breaks; `""` for a quote). Blank lines and lines starting with `#`
//! are skipped.

use std::io::BufRead;

use super::{set_field, CallRecord, Field, FieldNames, HistoryError, ReadOptions, BOM};

/// Reads calls from CSV, one record at a time.
pub struct CsvReader<R: BufRead> {
    input: R,
    source_name: String,
    options: ReadOptions,
    /// The line the next read starts on (1-based).
    next_line: u64,
    header: Option<Vec<(Field, String)>>,
    raw: Vec<u8>,
    /// Unescaped field bytes, one after the other.
    fields: Vec<u8>,
    /// End of each field in `fields`.
    ends: Vec<usize>,
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
            ends: Vec::with_capacity(16),
        }
    }

    fn error(&self, line: u64, message: impl Into<String>) -> HistoryError {
        HistoryError::Line {
            source_name: self.source_name.clone(),
            line,
            message: message.into(),
        }
    }

    /// Reads one physical line into `raw` (without its line break);
    /// `false` at the end of the input.
    fn read_physical_line(&mut self) -> Result<bool, HistoryError> {
        self.raw.clear();
        let n = self
            .input
            .read_until(b'\n', &mut self.raw)
            .map_err(|error| HistoryError::Io {
                source_name: self.source_name.clone(),
                error,
            })?;
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

    /// Reads the next record's fields; returns its first line, or `None` at
    /// the end of the input.
    fn read_record(&mut self) -> Result<Option<u64>, HistoryError> {
        loop {
            let line = self.next_line;
            if !self.read_physical_line()? {
                return Ok(None);
            }
            if self.raw.iter().all(|b| b.is_ascii_whitespace()) || self.raw.first() == Some(&b'#') {
                continue;
            }
            self.fields.clear();
            self.ends.clear();
            if !self.raw.contains(&b'"') {
                // The common case: no quoting, fields are what lies between commas.
                let mut start = 0;
                while let Some(pos) = self.raw[start..].iter().position(|&b| b == b',') {
                    self.fields.extend_from_slice(&self.raw[start..start + pos]);
                    self.ends.push(self.fields.len());
                    start += pos + 1;
                }
                self.fields.extend_from_slice(&self.raw[start..]);
                self.ends.push(self.fields.len());
                return Ok(Some(line));
            }
            let mut in_quotes = false;
            let mut field_start = true;
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
                        self.ends.push(self.fields.len());
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
            self.ends.push(self.fields.len());
            return Ok(Some(line));
        }
    }

    fn field(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.fields[start..self.ends[i]]
    }

    fn read_header(&mut self) -> Result<bool, HistoryError> {
        let Some(line) = self.read_record()? else {
            return Ok(false);
        };
        let mut columns: Vec<(Field, String)> = Vec::with_capacity(self.ends.len());
        let mut given = FieldNames::default();
        for i in 0..self.ends.len() {
            let name = String::from_utf8_lossy(self.field(i)).trim().to_string();
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
        let Some(line) = self.read_record()? else {
            return Ok(false);
        };
        let header = self.header.as_ref().map(Vec::len).unwrap_or(0);
        if self.ends.len() != header {
            return Err(self.error(
                line,
                format!(
                    "{} fields, but the header names {header} columns",
                    self.ends.len()
                ),
            ));
        }
        record.clear();
        record.line = line;
        let mut has_time = false;
        let columns = self.header.as_deref().unwrap_or(&[]);
        // Checked once for the whole record; fields split at ASCII commas
        // and quotes, so each is valid where the whole is.
        let whole = std::str::from_utf8(&self.fields).ok();
        for (i, (field, name)) in columns.iter().enumerate() {
            let start = if i == 0 { 0 } else { self.ends[i - 1] };
            let text = match whole {
                Some(t) => std::borrow::Cow::Borrowed(&t[start..self.ends[i]]),
                // A hostile caller name is data: keep what can be read.
                None => String::from_utf8_lossy(&self.fields[start..self.ends[i]]),
            };
            if *field == Field::Time {
                if text.trim().is_empty() {
                    continue;
                }
                has_time = true;
            }
            set_field(record, *field, name, &text, self.options).map_err(|m| {
                HistoryError::Line {
                    source_name: self.source_name.clone(),
                    line,
                    message: format!("column {name}: {m}"),
                }
            })?;
        }
        if !has_time {
            return Err(self.error(line, "the call has no time"));
        }
        Ok(true)
    }
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
        assert_eq!(calls[0].caller_number, "017012345678");
        assert_eq!(calls[0].caller_name, "Shop, Ltd");
        assert_eq!(calls[0].variable("sip_user_agent"), Some("Dialer 1.0"));
        assert_eq!(epoch_seconds(calls[0].time), 1_714_521_600);
        assert_eq!(calls[1].line, 5);
        assert_eq!(calls[1].caller_number, "anonymous");
    }

    #[test]
    fn quotes_may_hold_quotes_and_line_breaks() {
        let calls = read_all(
            "time,caller,destination,caller_name\r\n\
             0,1,4000,\"say \"\"hi\"\"\nagain\"\r\n\
             0,2,4000,x\r\n",
        )
        .unwrap();
        assert_eq!(calls[0].caller_name, "say \"hi\"\nagain");
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
        assert_eq!(calls[0].caller_number, "13800138000");
        // Only at the very start: elsewhere it is data.
        let calls = read_all("time,caller,destination,caller_name\n0,1,4000,\u{feff}x\n").unwrap();
        assert_eq!(calls[0].caller_name, "\u{feff}x");
    }

    #[test]
    fn an_empty_file_has_no_calls() {
        assert!(read_all("").unwrap().is_empty());
        assert!(read_all("time,caller,destination\n").unwrap().is_empty());
    }
}
