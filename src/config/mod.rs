//! The YAML config: parsed, validated, and turned into the model the engine
//! compiles.
//!
//! Every error names `file:line:column`. Errors that depend on other parts of
//! the file (a rule naming a list defined further down) are found in a second
//! pass over the document that already knows every name, so they too are
//! reported where they are written.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::IgnoredAny;
use serde::Deserialize;

use crate::conditions::{TextRegex, VariableTest};
use crate::numbers::NumberPlan;
use crate::pattern::Pattern;
use crate::schedule::Schedule;

mod audio;
mod context;
pub mod duration;
mod fields;
pub mod limits;
mod lists;
mod operations;
mod profiles;
mod replies;
mod rules;
mod scope_names;

pub use audio::{AudioPath, GlobalLookup, LoadOptions};
pub use lists::{closure as list_closure, read_list_file};
pub use operations::{
    parse_size, EventOptions, LedgerOptions, Operations, StateOptions, WatchOptions,
};
pub use profiles::DEFAULT_PROFILE;
pub use replies::{
    parse_duration, Case, Challenge, Destination, Member, Pick, ReasonReplies, Reply,
    ReplyDefaults, ReplyKind, BUILTIN_REPLY, REASON_NAMES,
};

use context::{with_context, ParseContext};
use fields::{DefinedListName, Digits, NationalLength, ReplyName};
use lists::ListSpec;
use profiles::{ProfileName, ProfileSpec};
use replies::{ReasonName, ReplySpec};
use rules::{Ordered, RuleSpec};
use scope_names::ScopeNames;

/// A config that could not be used, with where and why.
#[derive(Debug)]
pub enum ConfigError {
    /// The file could not be read.
    Read {
        /// The config file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The file was read but is not a valid config.
    Invalid {
        /// The file holding the mistake.
        path: PathBuf,
        /// 1-based line (0 when the YAML library gave none).
        line: usize,
        /// 1-based column (0 when the YAML library gave none).
        column: usize,
        /// What is wrong.
        message: String,
    },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigError::Read { path, source } => {
                write!(f, "{}: cannot read: {source}", path.display())
            }
            ConfigError::Invalid {
                path,
                line,
                column,
                message,
            } => {
                if *line == 0 {
                    write!(f, "{}: {message}", path.display())
                } else {
                    write!(f, "{}:{line}:{column}: {message}", path.display())
                }
            }
        }
    }
}

impl std::error::Error for ConfigError {}

/// Whether a rule lets the call through or stops it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The call continues in the dialplan untouched.
    Allow,
    /// The call gets the rule's reply instead.
    Block,
}

impl Action {
    /// `allow` or `block`.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Allow => "allow",
            Action::Block => "block",
        }
    }
}

/// A caller ID classification a rule can test.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CallerClass {
    /// A usable number.
    Number,
    /// Empty, withheld, `anonymous`, …
    Anonymous,
    /// Not a telephone number.
    Malformed,
}

/// A rule as written in the file, names resolved to indexes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// Unique name, reported in `callscreen_rule`.
    pub name: String,
    /// Caller must be in one of these lists (indexes into `Config::lists`).
    pub caller_in: Vec<usize>,
    /// Caller must be in none of these lists.
    pub caller_not_in: Vec<usize>,
    /// Destination must be in one of these lists.
    pub destination_in: Vec<usize>,
    /// Destination must match one of these patterns (written in the rule).
    pub destination_matches: Vec<Pattern>,
    /// Caller ID must be of this class.
    pub caller_is: Option<CallerClass>,
    /// Caller name must match this regex.
    pub caller_name: Option<TextRegex>,
    /// Channel variables that must (or must not) match regexes.
    pub variables: Vec<VariableTest>,
    /// When the rule applies.
    pub schedule: Option<Schedule>,
    /// What happens when the rule matches.
    pub action: Action,
    /// Reply for a blocked call (index into `Config::replies`).
    pub reply: Option<usize>,
    /// Decide and record, but do not act: the call goes on to the next rule.
    pub shadow: bool,
}

/// A named rule set, chosen by the dialplan (`profile=NAME`) or by the
/// number called.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Profile {
    /// The name the dialplan uses.
    pub name: String,
    /// Calls to these numbers use this profile when the dialplan names none.
    pub destinations: Vec<Pattern>,
    /// Its rules, in order.
    pub rules: Vec<Rule>,
    /// What happens to a call none of its rules matches.
    pub default_action: Action,
    /// Reply of its blocking rules that name none.
    pub default_reply: usize,
    /// Its own default replies (`defaults.reply`, `defaults.reply_for` of the
    /// profile), tried before the top-level defaults.
    pub replies: ReplyDefaults,
}

/// A named list of patterns.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct List {
    /// The name rules use.
    pub name: String,
    /// Its entries, normalised.
    pub patterns: Vec<Pattern>,
    /// Lists it includes (indexes into `Config::lists`).
    pub includes: Vec<usize>,
}

/// A whole validated config file.
#[derive(Clone, Debug)]
pub struct Config {
    /// Where it was read from.
    pub path: PathBuf,
    /// How numbers are written where the user lives.
    pub numbering: NumberPlan,
    /// Named lists.
    pub lists: Vec<List>,
    /// Named replies; index 0 is always the built-in `rejected`.
    pub replies: Vec<Reply>,
    /// Rules in order: the first that matches decides.
    pub rules: Vec<Rule>,
    /// What happens to a call no rule matches.
    pub default_action: Action,
    /// Reply of a blocking rule that names none (when `reply_by_reason` has
    /// none for the verdict's reason).
    pub default_reply: usize,
    /// State, ledger, events and file watching (`state:`, `ledger:`, `events:`, `watch:`).
    pub operations: Operations,
    /// Default replies per reason (`defaults.reply_for`).
    pub reply_by_reason: ReasonReplies,
    /// Things worth knowing that are not errors (audio paths that could not
    /// be checked here), for the log and `callscreen validate`.
    pub notes: Vec<String>,
    /// Named profiles besides the top-level rules (which are profile `default`).
    pub profiles: Vec<Profile>,
    /// Rate limits and pool detection, in order.
    pub limits: Vec<limits::Limit>,
    /// Settings shared by all limits.
    pub limiter: limits::LimiterSettings,
    /// The list files the config read (`file:` / `files:` in lists), in
    /// the order read: a change to one reloads like a change to the YAML.
    pub list_files: Vec<PathBuf>,
}

impl Config {
    /// Reads and validates a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::load_with(path, &LoadOptions::default())
    }

    /// Reads and validates a config file, expanding and checking audio paths
    /// as `options` say.
    pub fn load_with(path: &Path, options: &LoadOptions) -> Result<Config, ConfigError> {
        let bytes = std::fs::read(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let text = String::from_utf8(bytes).map_err(|err| {
            let bytes = err.as_bytes();
            let at = err.utf8_error().valid_up_to();
            let (line, column) = line_column(bytes, at);
            ConfigError::Invalid {
                path: path.to_path_buf(),
                line,
                column,
                message: format!("not UTF-8 text (byte 0x{:02X})", bytes[at]),
            }
        })?;
        Config::parse_with(&text, path, options)
    }

    /// Validates config text; `path` is only used in messages.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        Config::parse_with(text, path, &LoadOptions::default())
    }

    /// Validates config text with these load options.
    pub fn parse_with(
        text: &str,
        path: &Path,
        options: &LoadOptions,
    ) -> Result<Config, ConfigError> {
        let invalid = |err: serde_yaml::Error| yaml_error(path, err);

        // Pass 1: the names and the numbering plan the rest depends on.
        let outline: Outline = if text.trim().is_empty() {
            Outline::default()
        } else {
            serde_yaml::from_str(text).map_err(invalid)?
        };
        let numbering = outline.numbering.map(NumberPlan::from).unwrap_or_default();
        let mut list_names: BTreeSet<String> =
            outline.lists.0.into_iter().map(|(k, _)| k.0).collect();
        list_names.extend(crate::runtime_lists::RuntimeList::ALL.map(|l| l.name().to_string()));
        let mut reply_names: BTreeSet<String> =
            outline.replies.0.into_iter().map(|(k, _)| k).collect();
        reply_names.insert(BUILTIN_REPLY.to_string());
        let scope_names = ScopeNames::from_sketches(outline.rules, outline.profiles);

        // Pass 2: everything, checked against those names.
        let context = ParseContext {
            plan: numbering.clone(),
            lists: list_names,
            replies: reply_names,
            rule_names: BTreeSet::new(),
            load: options.clone(),
            notes: Vec::new(),
            base_dir: path.parent().map(Path::to_path_buf).unwrap_or_default(),
            limit_names: BTreeSet::new(),
            list_files: Vec::new(),
            scope_names,
        };
        lists::take_file_error();
        let (file, context) = with_context(context, || {
            if text.trim().is_empty() {
                Ok(FileSpec::default())
            } else {
                serde_yaml::from_str(text)
            }
        });
        let file: FileSpec =
            file.map_err(|err| lists::take_file_error().unwrap_or_else(|| invalid(err)))?;

        let mut config = file.resolve(path.to_path_buf(), numbering, text)?;
        config.notes = context.notes;
        config.list_files = context.list_files;
        Ok(config)
    }

    /// Number of lists defined in the file (the runtime lists not counted).
    pub fn defined_list_count(&self) -> usize {
        self.lists
            .iter()
            .filter(|l| !crate::runtime_lists::is_runtime_list(&l.name))
            .count()
    }

    /// Total number of list entries.
    pub fn entry_count(&self) -> usize {
        self.lists.iter().map(|l| l.patterns.len()).sum()
    }
}

/// The 1-based line and column (in characters) of byte `at` of `text`.
fn line_column(text: &[u8], at: usize) -> (usize, usize) {
    let before = &text[..at.min(text.len())];
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = String::from_utf8_lossy(&before[line_start..])
        .chars()
        .count()
        + 1;
    (line, column)
}

/// Where `key` is defined in the top-level mapping `section` of YAML `text`
/// (1-based line and column), for errors found after parsing, which the
/// YAML library cannot place.
fn key_position(text: &str, section: &str, key: &str) -> Option<(usize, usize)> {
    let mut in_section = false;
    for (i, line) in text.lines().enumerate() {
        let indent = line.len() - line.trim_start().len();
        let body = line.trim_start();
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        if indent == 0 {
            in_section = body
                .strip_prefix(section)
                .is_some_and(|r| r.starts_with(':'));
            continue;
        }
        let unquoted = body.trim_start_matches(['"', '\'']);
        if in_section
            && unquoted
                .strip_prefix(key)
                .is_some_and(|r| r.trim_start_matches(['"', '\'']).starts_with(':'))
        {
            return Some((i + 1, indent + 1));
        }
    }
    None
}

fn yaml_error(path: &Path, err: serde_yaml::Error) -> ConfigError {
    let (line, column) = err
        .location()
        .map(|l| (l.line(), l.column()))
        .unwrap_or((0, 0));
    let mut message = err.to_string();
    // serde_yaml appends " at line L column C"; we print it as file:L:C.
    if let Some(pos) = message.rfind(" at line ") {
        message.truncate(pos);
    }
    ConfigError::Invalid {
        path: path.to_path_buf(),
        line,
        column,
        message,
    }
}

// ---- pass 1 -------------------------------------------------------------

#[derive(Default, Deserialize)]
struct Outline {
    #[serde(default)]
    numbering: Option<NumberingSpec>,
    /// Ordered maps: a name defined twice is an error at its second place,
    /// not a silent replacement of the first.
    #[serde(default)]
    lists: Ordered<DefinedListName, IgnoredAny>,
    #[serde(default)]
    replies: Ordered<String, IgnoredAny>,
    /// Rule and profile names, for the scopes of limits.
    #[serde(default)]
    rules: scope_names::RuleSketches,
    #[serde(default)]
    profiles: scope_names::ProfileSketches,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct NumberingSpec {
    country_code: Digits,
    #[serde(default = "default_national_prefix")]
    national_prefix: Digits,
    #[serde(default = "default_international_prefix")]
    international_prefix: Digits,
    #[serde(default)]
    national_number_lengths: Vec<NationalLength>,
    #[serde(default)]
    area_code: Option<Digits>,
}

fn default_national_prefix() -> Digits {
    Digits("0".into())
}

fn default_international_prefix() -> Digits {
    Digits("00".into())
}

impl From<NumberingSpec> for NumberPlan {
    fn from(spec: NumberingSpec) -> Self {
        NumberPlan {
            country_code: spec.country_code.0,
            national_prefix: spec.national_prefix.0,
            international_prefix: spec.international_prefix.0,
            national_number_lengths: spec.national_number_lengths.iter().map(|l| l.0).collect(),
            area_code: spec.area_code.map(|a| a.0).unwrap_or_default(),
        }
    }
}

/// A quoted string of digits (possibly empty).
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    #[serde(default)]
    #[allow(dead_code)]
    numbering: Option<IgnoredAny>,
    #[serde(default)]
    lists: BTreeMap<String, ListSpec>,
    #[serde(default)]
    replies: BTreeMap<String, ReplySpec>,
    #[serde(default)]
    rules: Vec<RuleSpec>,
    #[serde(default)]
    defaults: DefaultsSpec,
    #[serde(default)]
    state: Option<operations::StateSpec>,
    #[serde(default)]
    ledger: Option<operations::LedgerSpec>,
    #[serde(default)]
    events: Option<operations::EventsSpec>,
    #[serde(default)]
    watch: Option<operations::WatchSpec>,
    #[serde(default)]
    profiles: Ordered<ProfileName, ProfileSpec>,
    #[serde(default)]
    limits: Vec<limits::LimitSpec>,
    #[serde(default)]
    limiter: limits::LimiterSpec,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DefaultsSpec {
    #[serde(default = "default_action")]
    action: Action,
    #[serde(default)]
    reply: Option<ReplyName>,
    #[serde(default)]
    reply_for: BTreeMap<ReasonName, ReplyName>,
}

impl Default for DefaultsSpec {
    fn default() -> Self {
        DefaultsSpec {
            action: Action::Allow,
            reply: None,
            reply_for: BTreeMap::new(),
        }
    }
}

fn default_action() -> Action {
    Action::Allow
}

/// A list entry, parsed with the file's numbering plan.
impl FileSpec {
    fn resolve(
        self,
        path: PathBuf,
        numbering: NumberPlan,
        text: &str,
    ) -> Result<Config, ConfigError> {
        let names: Vec<String> = self.lists.keys().cloned().collect();
        let position = |name: &str| names.iter().position(|n| n == name).unwrap_or(0);
        let mut lists: Vec<List> = self
            .lists
            .into_iter()
            .map(|(name, spec)| List {
                name,
                patterns: spec.patterns,
                includes: spec.includes.iter().map(|n| position(n)).collect(),
            })
            .collect();
        lists::check_includes(&lists).map_err(|(list, message)| {
            let (line, column) = key_position(text, "lists", &lists[list].name).unwrap_or((0, 0));
            ConfigError::Invalid {
                path: path.clone(),
                line,
                column,
                message,
            }
        })?;
        // Always defined, always empty here: the engine reads them from the
        // runtime store (src/runtime_lists.rs).
        lists.extend(crate::runtime_lists::RuntimeList::ALL.map(|l| List {
            name: l.name().to_string(),
            patterns: Vec::new(),
            includes: Vec::new(),
        }));
        let operations = operations::OperationsSpec {
            state: self.state,
            ledger: self.ledger,
            events: self.events,
            watch: self.watch,
        }
        .resolve(&path);
        let tones = crate::replies::tones::Country::for_calling_code(&numbering.country_code);
        let replies = replies::resolve_all(self.replies, tones).map_err(|(reply, message)| {
            let (line, column) = key_position(text, "replies", &reply).unwrap_or((0, 0));
            ConfigError::Invalid {
                path: path.clone(),
                line,
                column,
                message: format!("replies.{reply}: {message}"),
            }
        })?;
        let list_index = |name: &str| lists.iter().position(|l| l.name == name).unwrap_or(0);
        let reply_index = |name: &str| replies.iter().position(|r| r.name == name).unwrap_or(0);
        let rules = self
            .rules
            .into_iter()
            .map(|r| r.resolve(&list_index, &reply_index))
            .collect();
        let default_reply = self.defaults.reply.map(|n| reply_index(&n.0)).unwrap_or(0);
        let reply_by_reason = ReasonReplies(
            self.defaults
                .reply_for
                .iter()
                .map(|(reason, reply)| (reason.0, reply_index(&reply.0)))
                .collect(),
        );
        let default_action = self.defaults.action;
        let profiles = self
            .profiles
            .0
            .into_iter()
            .map(|(name, spec)| {
                spec.resolve(
                    name.0,
                    (default_action, default_reply),
                    &list_index,
                    &reply_index,
                )
            })
            .collect();
        let limiter = self.limiter.resolve();
        let limits = limits::resolve(self.limits, &limiter, list_index, reply_index);
        Ok(Config {
            path,
            numbering,
            lists,
            replies,
            rules,
            default_action,
            default_reply,
            operations,
            reply_by_reason,
            notes: Vec::new(),
            profiles,
            limits,
            limiter,
            list_files: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("test.yaml"))
    }

    fn error_of(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    const GOOD: &str = r#"
numbering:
  country_code: "86"
  national_prefix: "0"
  international_prefix: "00"
lists:
  family:
    - "+8613800138000"
  marketing:
    - "+86170*"
    - "0171*"
replies:
  busy:
    kind: reject
    cause: user_busy
rules:
  - name: family
    caller_in: family
    action: allow
  - name: virtual-operators
    caller_in: [marketing]
    action: block
    reply: busy
  - name: no-number
    caller_is: anonymous
    action: block
defaults:
  action: allow
"#;

    #[test]
    fn a_prefix_starting_with_the_country_code_without_plus_gets_a_note() {
        let c = Config::parse(
            "lists:\n  m: [\"86170*\", \"+86171*\", \"0172*\"]\n",
            Path::new("c.yaml"),
        )
        .unwrap();
        assert_eq!(
            c.notes,
            ["prefix \"86170*\" is read as a national number, +8686170*: write \"+86170*\" if 86 is the country code"]
        );
    }

    #[test]
    fn a_file_that_is_not_utf8_is_refused_at_the_bad_byte() {
        let dir = std::env::temp_dir().join(format!("callscreen-utf8-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("c.yaml");
        std::fs::write(&path, b"lists:\n  a: [\"+86\xff\"]\n").unwrap();
        let err = Config::load(&path).unwrap_err().to_string();
        assert_eq!(
            err,
            format!("{}:2:11: not UTF-8 text (byte 0xFF)", path.display())
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_key_is_found_in_its_section_only() {
        let text =
            "# c\nreplies:\n  a: {}\nlists:\n  \"a\": [x]\n  ab: [y]\n  b:\n    include: a\n";
        assert_eq!(key_position(text, "lists", "a"), Some((5, 3)));
        assert_eq!(key_position(text, "lists", "b"), Some((7, 3)));
        assert_eq!(key_position(text, "replies", "a"), Some((3, 3)));
        assert_eq!(key_position(text, "lists", "c"), None);
    }

    #[test]
    fn a_good_file_is_read_in_full() {
        let c = parse(GOOD).unwrap();
        assert_eq!(c.numbering.country_code, "86");
        assert_eq!(c.defined_list_count(), 2);
        assert_eq!(c.entry_count(), 3);
        assert_eq!(c.rules.len(), 3);
        assert_eq!(c.rules[1].action, Action::Block);
        let busy = &c.replies[c.rules[1].reply.unwrap()];
        assert_eq!(busy.name, "busy");
        assert_eq!(busy.kind, ReplyKind::Reject { cause: "USER_BUSY" });
        assert_eq!(c.rules[2].caller_is, Some(CallerClass::Anonymous));
        assert_eq!(c.rules[2].reply, None);
        assert_eq!(c.default_action, Action::Allow);
    }

    #[test]
    fn an_empty_file_is_a_config_that_allows_everything() {
        let c = parse("").unwrap();
        assert!(c.rules.is_empty());
        assert_eq!(c.default_action, Action::Allow);
        assert_eq!(c.replies[0].name, BUILTIN_REPLY);
    }

    #[test]
    fn yaml_syntax_errors_name_line_and_column() {
        let err = error_of("rules:\n  - name: a\n    action: [block\n");
        assert!(err.starts_with("test.yaml:"), "{err}");
        let parts: Vec<&str> = err.splitn(4, ':').collect();
        assert!(parts[1].parse::<usize>().unwrap() >= 3, "{err}");
    }

    #[test]
    fn an_unknown_list_is_reported_where_it_is_used() {
        let text = "lists:\n  a: [\"+86170*\"]\nrules:\n  - name: r\n    caller_in: b\n    action: block\n";
        let err = error_of(text);
        assert!(err.starts_with("test.yaml:5:16: "), "{err}");
        assert!(
            err.contains("unknown list \"b\" (defined lists: a, runtime-allow, runtime-block)"),
            "{err}"
        );
    }

    #[test]
    fn a_list_defined_after_the_rules_is_found() {
        let text = "rules:\n  - name: r\n    caller_in: late\n    action: block\nlists:\n  late: [\"+86170*\"]\n";
        let c = parse(text).unwrap();
        assert_eq!(c.rules[0].caller_in, vec![0]);
    }

    #[test]
    fn a_bad_pattern_is_reported_at_its_line() {
        let text = "lists:\n  a:\n    - \"+86170*\"\n    - \"+86*170\"\n";
        let err = error_of(text);
        assert!(err.starts_with("test.yaml:4:7: "), "{err}");
        assert!(err.contains("'*' may only end a prefix"), "{err}");
    }

    #[test]
    fn unquoted_numbers_are_refused_with_the_reason() {
        let err = error_of("lists:\n  a:\n    - 13800138000\n");
        assert!(err.contains("in quotes"), "{err}");
        let err = error_of("numbering:\n  country_code: 86\n");
        assert!(err.contains("in quotes"), "{err}");
    }

    #[test]
    fn a_misspelt_action_cause_or_key_is_an_error() {
        let err = error_of("rules:\n  - name: r\n    action: blok\n");
        assert!(err.starts_with("test.yaml:3:13: "), "{err}");
        assert!(err.contains("unknown variant `blok`"), "{err}");

        let err = error_of("replies:\n  x:\n    kind: reject\n    cause: USER_BUSSY\n");
        assert!(err.starts_with("test.yaml:4:12: "), "{err}");
        assert!(err.contains("unknown hangup cause"), "{err}");

        let err = error_of("rules:\n  - name: r\n    action: block\n    caler_in: x\n");
        assert!(err.contains("unknown field `caler_in`"), "{err}");
    }

    #[test]
    fn rule_names_are_unique_words() {
        let err =
            error_of("rules:\n  - name: r\n    action: block\n  - name: r\n    action: allow\n");
        assert!(err.starts_with("test.yaml:4:11: "), "{err}");
        assert!(err.contains("duplicate rule name"), "{err}");
        let err = error_of("rules:\n  - name: two words\n    action: block\n");
        assert!(err.contains("without spaces"), "{err}");
    }

    #[test]
    fn an_unknown_reply_is_an_error() {
        let err = error_of("rules:\n  - name: r\n    action: block\n    reply: nope\n");
        assert!(err.starts_with("test.yaml:4:12: "), "{err}");
        assert!(
            err.contains("unknown reply \"nope\" (defined replies: rejected)"),
            "{err}"
        );
    }

    #[test]
    fn a_missing_file_says_so() {
        let err = Config::load(Path::new("/nonexistent/callscreen.yaml")).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("/nonexistent/callscreen.yaml: cannot read"),
            "{err}"
        );
    }
}
