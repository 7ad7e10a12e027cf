//! Call histories: past calls read from a file, one at a time, for the
//! offline replay.
//!
//! Two formats: CSV with a header line, and JSON Lines (one object a line).
//! Both need the call's time, caller and destination; the caller name,
//! network address, profile and any other column or key (channel variables)
//! are optional. Reading streams: one call is held at a time (plus the
//! reorder window of [`order`]), whatever the size of the file.

use std::fmt;
use std::io::BufRead;
use std::time::SystemTime;

use crate::engine::CallFacts;

mod csv;
mod jsonl;
pub mod order;
mod times;

pub use self::csv::CsvReader;
pub use self::jsonl::JsonlReader;
pub use self::order::TimeOrder;
use self::times::TimeReader;

/// One past call, read from a history. Its texts lie one after the other
/// in one buffer, reused from call to call: a reader fills an existing
/// record without allocating once it has grown to the size of the longest
/// call, and a record held in the reorder window is a few cache lines in
/// two places rather than a string for each field.
#[derive(Clone)]
pub struct CallRecord {
    /// Line of the file where the call starts (1-based).
    pub line: u64,
    /// When the call arrived.
    pub time: SystemTime,
    /// The UTC offset its time was written with, if any (seconds east).
    pub offset: Option<i32>,
    /// Every text of the call.
    text: String,
    /// Where the caller number, caller name, destination, network address
    /// and profile lie in `text` (empty when not given).
    fields: [Span; 5],
    /// Where the name and value of each channel variable lie in `text`.
    variables: Vec<(Span, Span)>,
}

/// A piece of a record's text: `start..end`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct Span {
    start: usize,
    end: usize,
}

/// The place in [`CallRecord::fields`] of each text field.
const CALLER_NUMBER: usize = 0;
const CALLER_NAME: usize = 1;
const DESTINATION: usize = 2;
const NETWORK_ADDR: usize = 3;
const PROFILE: usize = 4;

impl Default for CallRecord {
    fn default() -> Self {
        CallRecord {
            line: 0,
            time: SystemTime::UNIX_EPOCH,
            offset: None,
            text: String::new(),
            fields: [Span::default(); 5],
            variables: Vec::new(),
        }
    }
}

impl fmt::Debug for CallRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CallRecord")
            .field("line", &self.line)
            .field("time", &self.time)
            .field("offset", &self.offset)
            .field("caller_number", &self.caller_number())
            .field("caller_name", &self.caller_name())
            .field("destination", &self.destination())
            .field("network_addr", &self.network_addr())
            .field("profile", &self.profile())
            .field("variables", &self.variables().collect::<Vec<_>>())
            .finish()
    }
}

impl CallRecord {
    /// Empties the record, keeping its buffer.
    pub fn clear(&mut self) {
        self.text.clear();
        self.fields = [Span::default(); 5];
        self.variables.clear();
        self.offset = None;
    }

    fn push(&mut self, value: &str) -> Span {
        let start = self.text.len();
        self.text.push_str(value);
        Span {
            start,
            end: self.text.len(),
        }
    }

    fn text_of(&self, span: Span) -> &str {
        self.text.get(span.start..span.end).unwrap_or("")
    }

    /// Caller ID number as received.
    pub fn caller_number(&self) -> &str {
        self.text_of(self.fields[CALLER_NUMBER])
    }

    /// Caller ID name as received.
    pub fn caller_name(&self) -> &str {
        self.text_of(self.fields[CALLER_NAME])
    }

    /// The number called (the DID).
    pub fn destination(&self) -> &str {
        self.text_of(self.fields[DESTINATION])
    }

    /// Address the call came from.
    pub fn network_addr(&self) -> &str {
        self.text_of(self.fields[NETWORK_ADDR])
    }

    /// Screening profile, when the history names one.
    pub fn profile(&self) -> &str {
        self.text_of(self.fields[PROFILE])
    }

    /// Sets the caller ID number.
    pub fn set_caller_number(&mut self, value: &str) {
        self.fields[CALLER_NUMBER] = self.push(value);
    }

    /// Sets the caller ID name.
    pub fn set_caller_name(&mut self, value: &str) {
        self.fields[CALLER_NAME] = self.push(value);
    }

    /// Sets the number called.
    pub fn set_destination(&mut self, value: &str) {
        self.fields[DESTINATION] = self.push(value);
    }

    /// Sets the address the call came from.
    pub fn set_network_addr(&mut self, value: &str) {
        self.fields[NETWORK_ADDR] = self.push(value);
    }

    /// Sets the screening profile.
    pub fn set_profile(&mut self, value: &str) {
        self.fields[PROFILE] = self.push(value);
    }

    /// Starts filling an emptied record from one line of text: its fields
    /// are then pieces of it ([`Self::set_from_line`]), kept with one copy.
    pub(crate) fn set_line(&mut self, line: &str) {
        debug_assert!(self.text.is_empty());
        self.text.push_str(line);
    }

    /// Sets `field` (named `name`) to `start..end` of the line given to
    /// [`Self::set_line`]; the call's time is read by [`set_field`].
    pub(crate) fn set_from_line(&mut self, field: Field, name: &str, start: usize, end: usize) {
        let span = Span { start, end };
        match field {
            Field::Caller => self.fields[CALLER_NUMBER] = span,
            Field::CallerName => self.fields[CALLER_NAME] = span,
            Field::Destination => self.fields[DESTINATION] = span,
            Field::NetworkAddr => self.fields[NETWORK_ADDR] = span,
            Field::Profile => self.fields[PROFILE] = span,
            Field::Variable => {
                let name = self.push(name);
                self.variables.push((name, span));
            }
            Field::Time => {}
        }
    }

    /// Other columns or keys of the call: channel variables, by name.
    pub fn variables(&self) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.variables
            .iter()
            .map(|&(n, v)| (self.text_of(n), self.text_of(v)))
    }

    /// The value of a channel variable given in the history.
    pub fn variable(&self, name: &str) -> Option<&str> {
        self.variables().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// Adds a channel variable.
    pub fn push_variable(&mut self, name: &str, value: &str) {
        let name = self.push(name);
        let value = self.push(value);
        self.variables.push((name, value));
    }

    /// Runs `f` on the facts the engine screens, as the module would read
    /// them from the channel: the one place that maps a history row onto a
    /// call (its profile column, and its other columns as channel variables).
    pub fn with_facts<R>(&self, f: impl FnOnce(&CallFacts<'_>) -> R) -> R {
        // The variables as the engine takes them: on the stack for the few
        // columns a history usually has, so a call costs no allocation.
        const ON_STACK: usize = 8;
        let mut stack = [("", ""); ON_STACK];
        let heap: Vec<(&str, &str)>;
        let variables: &[(&str, &str)] = if self.variables.len() <= ON_STACK {
            for (slot, pair) in stack.iter_mut().zip(self.variables()) {
                *slot = pair;
            }
            &stack[..self.variables.len()]
        } else {
            heap = self.variables().collect();
            &heap
        };
        f(&CallFacts {
            caller_number: self.caller_number(),
            caller_name: self.caller_name(),
            destination: self.destination(),
            network_addr: self.network_addr(),
            profile: self.profile(),
            variables,
            ..CallFacts::default()
        })
    }
}

/// The field of a call a column or key holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Field {
    /// The call's time.
    Time,
    /// Caller ID number.
    Caller,
    /// Caller ID name.
    CallerName,
    /// Number called.
    Destination,
    /// Source address.
    NetworkAddr,
    /// Screening profile.
    Profile,
    /// Any other name: a channel variable.
    Variable,
}

impl Field {
    /// The field a column header or JSON key names. Accepts our names and
    /// those of FreeSWITCH's CDR (`caller_id_number`, `destination_number`,
    /// `start_stamp`, `start_epoch`, `network_addr`, …).
    pub fn of(name: &str) -> Field {
        let n = name.trim();
        let is = |words: &[&str]| words.iter().any(|w| n.eq_ignore_ascii_case(w));
        if is(&[
            "time",
            "timestamp",
            "start_stamp",
            "start_epoch",
            "start_uepoch",
            "date",
            "datetime",
        ]) {
            Field::Time
        } else if is(&["caller", "caller_number", "caller_id_number", "from", "ani"]) {
            Field::Caller
        } else if is(&["caller_name", "caller_id_name", "cnam"]) {
            Field::CallerName
        } else if is(&["destination", "destination_number", "callee", "to", "did"]) {
            Field::Destination
        } else if is(&["network_addr", "network_ip", "sip_network_ip", "source_ip"]) {
            Field::NetworkAddr
        } else if is(&["profile"]) {
            Field::Profile
        } else {
            Field::Variable
        }
    }
}

/// Why a history could not be read: the file, the line and what is wrong.
#[derive(Debug)]
pub enum HistoryError {
    /// The file could not be opened or read.
    Io {
        /// The file.
        source_name: String,
        /// What the OS said.
        error: std::io::Error,
    },
    /// A line is not a valid call.
    Line {
        /// The file.
        source_name: String,
        /// 1-based line number.
        line: u64,
        /// What is wrong.
        message: String,
    },
}

impl HistoryError {
    /// The line the error is about, if any.
    pub fn line(&self) -> Option<u64> {
        match self {
            HistoryError::Line { line, .. } => Some(*line),
            HistoryError::Io { .. } => None,
        }
    }
}

impl fmt::Display for HistoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HistoryError::Io { source_name, error } => write!(f, "{source_name}: {error}"),
            HistoryError::Line {
                source_name,
                line,
                message,
            } => write!(f, "{source_name}:{line}: {message}"),
        }
    }
}

impl std::error::Error for HistoryError {}

/// The format of a history file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header line.
    Csv,
    /// One JSON object per line.
    JsonLines,
}

impl Format {
    /// The format a file name says (`.csv`; `.jsonl`, `.ndjson`, `.json`).
    pub fn from_name(name: &str) -> Option<Format> {
        let lower = name.to_ascii_lowercase();
        if lower.ends_with(".csv") {
            Some(Format::Csv)
        } else if lower.ends_with(".jsonl")
            || lower.ends_with(".ndjson")
            || lower.ends_with(".json")
        {
            Some(Format::JsonLines)
        } else {
            None
        }
    }

    /// Reads a format name given on the command line.
    pub fn parse(text: &str) -> Option<Format> {
        match text.to_ascii_lowercase().as_str() {
            "csv" => Some(Format::Csv),
            "jsonl" | "json" | "ndjson" => Some(Format::JsonLines),
            _ => None,
        }
    }

    /// Guesses from the first bytes: JSON Lines start with `{` (after a
    /// byte order mark, if any).
    pub fn sniff(head: &[u8]) -> Format {
        let head = head.strip_prefix(BOM).unwrap_or(head);
        match head.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => Format::JsonLines,
            _ => Format::Csv,
        }
    }
}

/// Options for reading a history.
#[derive(Clone, Copy, Debug, Default)]
pub struct ReadOptions {
    /// Offset (seconds east of UTC) of times written without a zone.
    pub assumed_offset: i32,
}

/// A history in either format, read call by call.
pub enum HistoryReader<R: BufRead> {
    /// CSV.
    Csv(CsvReader<R>),
    /// JSON Lines.
    JsonLines(JsonlReader<R>),
}

impl<R: BufRead> HistoryReader<R> {
    /// A reader of `format` over `input`; `source_name` is used in errors.
    pub fn new(format: Format, input: R, source_name: &str, options: ReadOptions) -> Self {
        match format {
            Format::Csv => HistoryReader::Csv(CsvReader::new(input, source_name, options)),
            Format::JsonLines => {
                HistoryReader::JsonLines(JsonlReader::new(input, source_name, options))
            }
        }
    }

    /// Reads the next call into `record`; `false` at the end of the input.
    pub fn read_into(&mut self, record: &mut CallRecord) -> Result<bool, HistoryError> {
        match self {
            HistoryReader::Csv(r) => r.read_into(record),
            HistoryReader::JsonLines(r) => r.read_into(record),
        }
    }
}

/// Sets a record's field from text (shared by both formats).
pub(crate) fn set_field(
    record: &mut CallRecord,
    field: Field,
    name: &str,
    value: &str,
    options: ReadOptions,
    times: &mut TimeReader,
) -> Result<(), String> {
    match field {
        Field::Time => {
            let stamp = times
                .read(value, options.assumed_offset)
                .map_err(|e| e.to_string())?;
            record.time = stamp.time;
            record.offset = stamp.offset;
        }
        Field::Caller => record.set_caller_number(value),
        Field::CallerName => record.set_caller_name(value),
        Field::Destination => record.set_destination(value),
        Field::NetworkAddr => record.set_network_addr(value),
        Field::Profile => record.set_profile(value),
        Field::Variable => record.push_variable(name, value),
    }
    Ok(())
}

/// Which column or key gave each field of a call, to refuse a second one:
/// two values for one field are a mistake in the file (or two spellings of
/// one field, `caller` and `caller_id_number`), and neither can be picked
/// without guessing.
#[derive(Clone, Debug, Default)]
pub(crate) struct FieldNames {
    /// The column or key that gave each field (empty: none yet).
    given: [String; 6],
}

impl Field {
    /// The field's place in [`FieldNames`] and its name in messages;
    /// `None` for channel variables (told apart by name).
    fn slot(self) -> Option<(usize, &'static str)> {
        match self {
            Field::Time => Some((0, "the call's time")),
            Field::Caller => Some((1, "the caller")),
            Field::CallerName => Some((2, "the caller name")),
            Field::Destination => Some((3, "the destination")),
            Field::NetworkAddr => Some((4, "the network address")),
            Field::Profile => Some((5, "the profile")),
            Field::Variable => None,
        }
    }
}

impl FieldNames {
    /// Forgets the fields given (keeping the buffers).
    pub(crate) fn clear(&mut self) {
        self.given.iter_mut().for_each(String::clear);
    }

    /// Notes that the column or key (`what`) `name` gives `field`; an error
    /// naming both when one gave it already. A channel variable is
    /// repeated when `variable_given` says its name was given before.
    pub(crate) fn give(
        &mut self,
        field: Field,
        name: &str,
        variable_given: bool,
        what: &str,
    ) -> Result<(), String> {
        let (first, field_name) = match field.slot() {
            Some((slot, text)) => {
                let given = &mut self.given[slot];
                if given.is_empty() {
                    given.push_str(name);
                    return Ok(());
                }
                (given.as_str(), text.to_string())
            }
            None if variable_given => (name, format!("the channel variable {name}")),
            None => return Ok(()),
        };
        Err(if first == name {
            format!("the {what} {name} is repeated: two values for {field_name}; keep one")
        } else {
            format!("the {what}s {first} and {name} both give {field_name}; keep one")
        })
    }
}

/// The byte order mark some programs (Excel's "CSV UTF-8") put at the start
/// of a file: not part of the first column's name.
pub(crate) const BOM: &[u8] = b"\xEF\xBB\xBF";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn freeswitch_cdr_names_are_understood() {
        assert_eq!(Field::of("caller_id_number"), Field::Caller);
        assert_eq!(Field::of("Destination_Number"), Field::Destination);
        assert_eq!(Field::of("start_epoch"), Field::Time);
        assert_eq!(Field::of("sip_user_agent"), Field::Variable);
    }

    #[test]
    fn formats_follow_the_file_name_or_the_content() {
        assert_eq!(Format::from_name("a/b.CSV"), Some(Format::Csv));
        assert_eq!(Format::from_name("calls.jsonl"), Some(Format::JsonLines));
        assert_eq!(Format::from_name("calls.txt"), None);
        assert_eq!(Format::sniff(b"  {\"time\":1}"), Format::JsonLines);
        assert_eq!(Format::sniff(b"time,caller"), Format::Csv);
    }
}
