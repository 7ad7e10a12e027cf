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

/// One past call, read from a history. Its strings are reused from call to
/// call: a reader fills an existing record without allocating once the
/// record has grown to the size of the longest values.
#[derive(Clone, Debug)]
pub struct CallRecord {
    /// Line of the file where the call starts (1-based).
    pub line: u64,
    /// When the call arrived.
    pub time: SystemTime,
    /// The UTC offset its time was written with, if any (seconds east).
    pub offset: Option<i32>,
    /// Caller ID number as received.
    pub caller_number: String,
    /// Caller ID name as received.
    pub caller_name: String,
    /// The number called (the DID).
    pub destination: String,
    /// Address the call came from.
    pub network_addr: String,
    /// Screening profile, when the history names one.
    pub profile: String,
    variables: Vec<(String, String)>,
    variable_count: usize,
}

impl Default for CallRecord {
    fn default() -> Self {
        CallRecord {
            line: 0,
            time: SystemTime::UNIX_EPOCH,
            offset: None,
            caller_number: String::new(),
            caller_name: String::new(),
            destination: String::new(),
            network_addr: String::new(),
            profile: String::new(),
            variables: Vec::new(),
            variable_count: 0,
        }
    }
}

impl CallRecord {
    /// Empties the record, keeping its buffers.
    pub fn clear(&mut self) {
        self.caller_number.clear();
        self.caller_name.clear();
        self.destination.clear();
        self.network_addr.clear();
        self.profile.clear();
        self.variable_count = 0;
        self.offset = None;
    }

    /// Other columns or keys of the call: channel variables, by name.
    pub fn variables(&self) -> &[(String, String)] {
        &self.variables[..self.variable_count]
    }

    /// The value of a channel variable given in the history.
    pub fn variable(&self, name: &str) -> Option<&str> {
        self.variables()
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Adds a channel variable (reusing a previous call's buffers).
    pub fn push_variable(&mut self, name: &str, value: &str) {
        if self.variable_count == self.variables.len() {
            self.variables.push((String::new(), String::new()));
        }
        let (n, v) = &mut self.variables[self.variable_count];
        // A CSV column gives the same name to every call.
        if n != name {
            set_text(n, name);
        }
        set_text(v, value);
        self.variable_count += 1;
    }

    /// Runs `f` on the facts the engine screens, as the module would read
    /// them from the channel: the one place that maps a history row onto a
    /// call (its profile column, and its other columns as channel variables).
    pub fn with_facts<R>(&self, f: impl FnOnce(&CallFacts<'_>) -> R) -> R {
        // The variables as the engine takes them: on the stack for the few
        // columns a history usually has, so a call costs no allocation.
        const ON_STACK: usize = 8;
        let given = self.variables();
        let mut stack = [("", ""); ON_STACK];
        let heap: Vec<(&str, &str)>;
        let variables: &[(&str, &str)] = if given.len() <= ON_STACK {
            for (slot, (n, v)) in stack.iter_mut().zip(given) {
                *slot = (n.as_str(), v.as_str());
            }
            &stack[..given.len()]
        } else {
            heap = given
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            &heap
        };
        f(&CallFacts {
            caller_number: &self.caller_number,
            caller_name: &self.caller_name,
            destination: &self.destination,
            network_addr: &self.network_addr,
            profile: &self.profile,
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
        Field::Caller => set_text(&mut record.caller_number, value),
        Field::CallerName => set_text(&mut record.caller_name, value),
        Field::Destination => set_text(&mut record.destination, value),
        Field::NetworkAddr => set_text(&mut record.network_addr, value),
        Field::Profile => set_text(&mut record.profile, value),
        Field::Variable => record.push_variable(name, value),
    }
    Ok(())
}

/// Replaces `text` with `value`, keeping its buffer.
fn set_text(text: &mut String, value: &str) {
    text.clear();
    text.push_str(value);
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
