//! JSON Lines histories: one JSON object a line. Keys name the call's fields
//! as CSV columns do (`time`, `caller`, `destination`, `caller_name`,
//! `network_addr`, `profile`, or FreeSWITCH's CDR names); any other key with
//! a plain value, and the entries of a `variables` object, are channel
//! variables. Times are text (RFC 3339) or epoch numbers.

use std::borrow::Cow;
use std::fmt;
use std::io::BufRead;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use super::{set_field, CallRecord, Field, FieldNames, HistoryError, ReadOptions, TimeReader, BOM};

/// Reads calls from JSON Lines, one line at a time.
pub struct JsonlReader<R: BufRead> {
    input: R,
    source_name: String,
    options: ReadOptions,
    next_line: u64,
    raw: Vec<u8>,
    given: FieldNames,
    times: TimeReader,
}

impl<R: BufRead> JsonlReader<R> {
    /// A reader over `input`; `source_name` is used in errors.
    pub fn new(input: R, source_name: &str, options: ReadOptions) -> Self {
        JsonlReader {
            input,
            source_name: source_name.to_string(),
            options,
            next_line: 1,
            raw: Vec::with_capacity(512),
            given: FieldNames::default(),
            times: TimeReader::default(),
        }
    }

    /// Reads the next call into `record`; `false` at the end of the input.
    pub fn read_into(&mut self, record: &mut CallRecord) -> Result<bool, HistoryError> {
        loop {
            self.raw.clear();
            let line = self.next_line;
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
            if self.raw.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            record.clear();
            record.line = line;
            let mut seen = Seen::default();
            self.given.clear();
            let mut de = serde_json::Deserializer::from_slice(&self.raw);
            let result = Fill {
                record,
                options: self.options,
                seen: &mut seen,
                given: &mut self.given,
                times: &mut self.times,
            }
            .deserialize(&mut de)
            .and_then(|()| de.end());
            let error = |message: String| HistoryError::Line {
                source_name: self.source_name.clone(),
                line,
                message,
            };
            if let Err(e) = result {
                let mut message = e.to_string();
                if let Some(pos) = message.rfind(" at line ") {
                    message.truncate(pos);
                }
                return Err(error(message));
            }
            let missing: Vec<&str> = [
                (seen.time, "time"),
                (seen.caller, "caller"),
                (seen.destination, "destination"),
            ]
            .iter()
            .filter(|(s, _)| !s)
            .map(|(_, n)| *n)
            .collect();
            if !missing.is_empty() {
                return Err(error(format!("the call has no {}", missing.join(", "))));
            }
            return Ok(true);
        }
    }
}

#[derive(Default)]
struct Seen {
    time: bool,
    caller: bool,
    destination: bool,
}

struct Fill<'r> {
    record: &'r mut CallRecord,
    options: ReadOptions,
    seen: &'r mut Seen,
    given: &'r mut FieldNames,
    times: &'r mut TimeReader,
}

impl<'de> DeserializeSeed<'de> for Fill<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Fill<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object describing one call")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            if key == "variables" {
                map.next_value_seed(Variables(self.record))?;
                continue;
            }
            let field = Field::of(&key);
            let variable_given = field == Field::Variable && self.record.variable(&key).is_some();
            self.given
                .give(field, &key, variable_given, "key")
                .map_err(de::Error::custom)?;
            let value = match map.next_value::<Scalar<'de>>()? {
                Scalar::Text(t) => t,
                Scalar::Null => Cow::Borrowed(""),
                Scalar::Other => continue,
            };
            match field {
                Field::Time if value.trim().is_empty() => continue,
                Field::Time => self.seen.time = true,
                Field::Caller => self.seen.caller = true,
                Field::Destination => self.seen.destination = true,
                _ => {}
            }
            set_field(self.record, field, &key, &value, self.options, self.times)
                .map_err(|m| de::Error::custom(format!("key {key}: {m}")))?;
        }
        Ok(())
    }
}

/// The entries of a `variables` object.
struct Variables<'r>(&'r mut CallRecord);

impl<'de> DeserializeSeed<'de> for Variables<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Variables<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object of channel variables")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            if self.0.variable(&key).is_some() {
                return Err(de::Error::custom(format!(
                    "the key {key} is repeated: two values for the channel variable {key}; keep one"
                )));
            }
            if let Scalar::Text(value) = map.next_value::<Scalar<'de>>()? {
                self.0.push_variable(&key, &value);
            }
        }
        Ok(())
    }
}

/// A string, borrowed from the line when it has no escapes.
struct Text<'de>(Cow<'de, str>);

impl<'de> de::Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A value read as text: strings as they are, numbers and booleans written
/// out; objects and arrays are skipped.
enum Scalar<'de> {
    Text(Cow<'de, str>),
    Null,
    Other,
}

impl<'de> de::Deserialize<'de> for Scalar<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Scalar<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a value")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Text(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Text(Cow::Owned(v.to_string())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Text(Cow::Owned(v)))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Text(Cow::Owned(v.to_string())))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Text(Cow::Owned(v.to_string())))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Text(Cow::Owned(format!("{v:.6}"))))
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Text(Cow::Borrowed(if v {
                    "true"
                } else {
                    "false"
                })))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Null)
            }
            fn visit_none<E: de::Error>(self) -> Result<Scalar<'de>, E> {
                Ok(Scalar::Null)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Scalar<'de>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
            fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Scalar<'de>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Scalar::Other)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::Format;
    use crate::timefmt::epoch_seconds;

    fn read_all(text: &str) -> Result<Vec<CallRecord>, HistoryError> {
        let mut r = JsonlReader::new(text.as_bytes(), "calls.jsonl", ReadOptions::default());
        let mut out = Vec::new();
        let mut rec = CallRecord::default();
        while r.read_into(&mut rec)? {
            out.push(rec.clone());
        }
        Ok(out)
    }

    #[test]
    fn keys_values_and_variables_are_read() {
        let calls = read_all(
            "{\"time\":\"2024-05-01T08:00:00+08:00\",\"caller\":\"0170\\u00312345678\",\"destination\":4000,\
              \"caller_name\":\"Shop\",\"variables\":{\"sip_user_agent\":\"Dialer\"},\"x\":[1],\"vip\":true}\n\
             \n\
             {\"start_epoch\":1714521600,\"caller_id_number\":null,\"destination_number\":\"4000\"}\n",
        )
        .unwrap();
        assert_eq!(calls.len(), 2);
        assert_eq!(calls[0].caller_number(), "017012345678");
        assert_eq!(calls[0].destination(), "4000");
        assert_eq!(calls[0].variable("sip_user_agent"), Some("Dialer"));
        assert_eq!(calls[0].variable("vip"), Some("true"));
        assert_eq!(calls[0].variable("x"), None);
        assert_eq!(calls[0].offset, Some(8 * 3600));
        assert_eq!(calls[1].line, 3);
        assert_eq!(calls[1].caller_number(), "");
        assert_eq!(epoch_seconds(calls[1].time), 1_714_521_600);
    }

    #[test]
    fn a_repeated_key_is_refused_not_joined() {
        let ok = "{\"time\":0,\"caller\":\"1\",\"destination\":\"2\"}\n";
        let err = read_all(&format!(
            "{ok}{{\"time\":0,\"caller\":\"13800138000\",\"destination\":\"4000\",\"caller\":\"2\"}}\n"
        ))
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "calls.jsonl:2: the key caller is repeated: two values for the caller; keep one"
        );
        let err = read_all("{\"start_epoch\":0,\"time\":\"1970-01-01T00:00:00Z\",\"caller\":\"1\",\"destination\":\"2\"}\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "calls.jsonl:1: the keys start_epoch and time both give the call's time; keep one"
        );
        let err = read_all("{\"time\":0,\"caller\":\"1\",\"destination\":\"2\",\"ua\":\"a\",\"variables\":{\"ua\":\"b\"}}\n")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with(
                "calls.jsonl:1: the key ua is repeated: two values for the channel variable ua"
            ),
            "{err}"
        );
        // Keys are counted afresh on every line.
        assert_eq!(read_all(&format!("{ok}{ok}")).unwrap().len(), 2);
    }

    #[test]
    fn a_byte_order_mark_starts_the_first_line_only() {
        let calls =
            read_all("\u{feff}{\"time\":0,\"caller\":\"1\",\"destination\":\"2\"}\n").unwrap();
        assert_eq!(calls[0].caller_number(), "1");
        assert_eq!(
            Format::sniff("\u{feff}{\"time\":0}".as_bytes()),
            Format::JsonLines
        );
    }

    #[test]
    fn errors_name_the_line() {
        let ok = "{\"time\":0,\"caller\":\"1\",\"destination\":\"2\"}\n";
        let err = read_all(&format!("{ok}{ok}{{\"time\":0,\"caller\":\"1\"\n"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("calls.jsonl:3: EOF while parsing"), "{err}");

        let err = read_all(&format!("{ok}\n{{\"time\":0,\"destination\":\"2\"}}\n"))
            .unwrap_err()
            .to_string();
        assert_eq!(err, "calls.jsonl:3: the call has no caller");

        let err = read_all("{\"time\":\"noon\",\"caller\":\"1\",\"destination\":\"2\"}")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("calls.jsonl:1: key time: cannot read time"),
            "{err}"
        );

        let err = read_all("[1,2]\n").unwrap_err().to_string();
        assert!(
            err.contains("calls.jsonl:1: invalid type: sequence"),
            "{err}"
        );
    }
}
