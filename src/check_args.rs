//! The arguments of `callscreen check`, shared by fs_cli and the CLI:
//! `[--profile NAME] [--var NAME=VALUE]... [--name CALLER_NAME] [--time TIME]
//! <caller> [<destination>]`.

use std::time::SystemTime;

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::{Timestamp, Zoned};

use crate::conditions::valid_variable_name;

/// Options syntax, for usage texts.
pub const CHECK_SYNTAX: &str =
    "check [--profile NAME] [--var NAME=VALUE]... [--name CALLER_NAME] [--time TIME] <caller> [<destination>]";

/// A number to check, with the call's other facts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CheckRequest {
    /// Caller number as it would arrive.
    pub caller: String,
    /// Destination (DID), if given.
    pub destination: Option<String>,
    /// The profile the dialplan would name.
    pub profile: Option<String>,
    /// Caller ID name.
    pub caller_name: Option<String>,
    /// Channel variables, as `name=value`.
    pub variables: Vec<(String, String)>,
    /// When the call happens (default: now).
    pub time: Option<SystemTime>,
}

impl CheckRequest {
    /// Parses the words after `check`.
    pub fn parse(words: &[&str]) -> Result<CheckRequest, String> {
        let mut request = CheckRequest::default();
        let mut positional = Vec::new();
        let mut rest = words.iter();
        while let Some(&word) = rest.next() {
            let mut value = |option: &str| {
                rest.next()
                    .map(|v| v.to_string())
                    .ok_or_else(|| format!("{option} needs a value"))
            };
            match word {
                "--profile" => request.profile = Some(value(word)?),
                "--name" => request.caller_name = Some(value(word)?),
                "--time" => request.time = Some(parse_time(&value(word)?)?),
                "--var" => {
                    let pair = value(word)?;
                    let (name, val) = pair
                        .split_once('=')
                        .ok_or_else(|| format!("--var takes NAME=VALUE, not {pair:?}"))?;
                    if !valid_variable_name(name) {
                        return Err(format!("{name:?} is not a channel variable name"));
                    }
                    request.variables.push((name.to_string(), val.to_string()));
                }
                w if w.starts_with("--") => return Err(format!("unknown option {w:?}")),
                w => positional.push(w.to_string()),
            }
        }
        let mut positional = positional.into_iter();
        request.caller = positional
            .next()
            .ok_or("check takes a caller and an optional destination")?;
        request.destination = positional.next();
        if positional.next().is_some() {
            return Err("check takes a caller and an optional destination".into());
        }
        Ok(request)
    }
}

/// Reads a time: RFC 3339 (`2025-01-06T23:30:00+08:00`, `…Z`), a civil time
/// with a zone (`2025-01-06T23:30[Asia/Shanghai]`), or a civil time in the
/// host's zone (`2025-01-06T23:30`).
pub fn parse_time(text: &str) -> Result<SystemTime, String> {
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Ok(SystemTime::from(ts));
    }
    if let Ok(zoned) = text.parse::<Zoned>() {
        return Ok(SystemTime::from(zoned.timestamp()));
    }
    text.parse::<DateTime>()
        .ok()
        .and_then(|dt| dt.to_zoned(TimeZone::system()).ok())
        .map(|z| SystemTime::from(z.timestamp()))
        .ok_or_else(|| {
            format!(
                "time {text:?}: write 2025-01-06T23:30:00+08:00, 2025-01-06T23:30[Asia/Shanghai] or 2025-01-06T23:30"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_and_positionals_in_any_order() {
        let r = CheckRequest::parse(&[
            "--profile",
            "courier-line",
            "017012345678",
            "--var",
            "sip_user_agent=friendly scanner=1",
            "--time",
            "2025-01-06T23:30:00+08:00",
            "4000",
            "--name",
            "Promo",
        ])
        .unwrap();
        assert_eq!(r.caller, "017012345678");
        assert_eq!(r.destination.as_deref(), Some("4000"));
        assert_eq!(r.profile.as_deref(), Some("courier-line"));
        assert_eq!(r.caller_name.as_deref(), Some("Promo"));
        assert_eq!(
            r.variables,
            [(
                "sip_user_agent".to_string(),
                "friendly scanner=1".to_string()
            )]
        );
        assert_eq!(
            r.time.unwrap(),
            SystemTime::from("2025-01-06T15:30:00Z".parse::<Timestamp>().unwrap())
        );
    }

    #[test]
    fn mistakes_are_explained() {
        for (words, want) in [
            (&[][..], "check takes a caller"),
            (&["a", "b", "c"][..], "check takes a caller"),
            (&["--profile"][..], "--profile needs a value"),
            (&["--var", "novalue", "1"][..], "--var takes NAME=VALUE"),
            (&["--var", "a b=1", "1"][..], "not a channel variable name"),
            (&["--time", "yesterday", "1"][..], "time \"yesterday\""),
            (&["--frob", "1"][..], "unknown option \"--frob\""),
        ] {
            let err = CheckRequest::parse(words).unwrap_err();
            assert!(err.contains(want), "{words:?}: {err}");
        }
    }

    #[test]
    fn times_with_zone_names_and_offsets_agree() {
        let a = parse_time("2025-01-06T23:30[Asia/Shanghai]").unwrap();
        let b = parse_time("2025-01-06T15:30:00Z").unwrap();
        assert_eq!(a, b);
        assert!(parse_time("2025-01-06T23:30").is_ok());
    }
}
