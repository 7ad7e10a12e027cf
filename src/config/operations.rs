//! The operations sections of the YAML: `state:` (durable runtime state),
//! `ledger:` (evidence ledger), `events:` (ESL events) and `watch:` (reload
//! when files change). Every field is optional; see conf/callscreen.yaml.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::de::Deserializer;
use serde::Deserialize;

use super::fields::validated_str;
use crate::durations::parse_duration;
use crate::ledger::FsyncPolicy;

/// Where runtime state lives and when its journal is compacted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StateOptions {
    /// Directory of the journal; `None`: FreeSWITCH's `$${db_dir}/callscreen`.
    pub dir: Option<PathBuf>,
    /// Compact the journal once it holds this many records more than the
    /// live state needs.
    pub compact_after: usize,
}

/// How the evidence ledger is written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerOptions {
    /// Whether screened calls are recorded at all.
    pub enabled: bool,
    /// Directory of the ledger files; `None`: `<state dir>/ledger`.
    pub dir: Option<PathBuf>,
    /// When the writer forces records to disk.
    pub fsync: FsyncPolicy,
    /// A file is closed and the next one started past this size (bytes).
    pub max_file_size: u64,
    /// Records waiting for the writer; beyond it records are dropped and counted.
    pub queue_size: usize,
}

/// Which ESL events are fired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventOptions {
    /// `callscreen::verdict` for every screened call.
    pub verdict: bool,
    /// `callscreen::penalty` when a key enters or leaves the penalty box.
    pub penalty: bool,
}

/// Reloading when the YAML or a list file changes on disk.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WatchOptions {
    /// Whether files are watched.
    pub enabled: bool,
    /// How often their modification times are compared.
    pub interval: Duration,
}

/// All operations settings.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operations {
    /// `state:`.
    pub state: StateOptions,
    /// `ledger:`.
    pub ledger: LedgerOptions,
    /// `events:`.
    pub events: EventOptions,
    /// `watch:`.
    pub watch: WatchOptions,
}

impl Default for Operations {
    fn default() -> Self {
        Operations {
            state: StateOptions {
                dir: None,
                compact_after: 1000,
            },
            ledger: LedgerOptions {
                enabled: true,
                dir: None,
                fsync: FsyncPolicy::Interval(Duration::from_secs(1)),
                max_file_size: 64 << 20,
                queue_size: 4096,
            },
            events: EventOptions {
                verdict: true,
                penalty: true,
            },
            watch: WatchOptions {
                enabled: false,
                interval: Duration::from_secs(2),
            },
        }
    }
}

/// The four sections as written (fields of the file's top level).
#[derive(Default)]
pub(super) struct OperationsSpec {
    pub(super) state: Option<StateSpec>,
    pub(super) ledger: Option<LedgerSpec>,
    pub(super) events: Option<EventsSpec>,
    pub(super) watch: Option<WatchSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StateSpec {
    #[serde(default)]
    dir: Option<String>,
    #[serde(default)]
    compact_after: Option<usize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct LedgerSpec {
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    dir: Option<String>,
    #[serde(default)]
    fsync: Option<FsyncName>,
    #[serde(default)]
    fsync_interval: Option<DurationText>,
    #[serde(default)]
    max_file_size: Option<SizeText>,
    #[serde(default)]
    queue_size: Option<QueueSize>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct EventsSpec {
    #[serde(default)]
    verdict: Option<bool>,
    #[serde(default)]
    penalty: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct WatchSpec {
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    interval: Option<DurationText>,
}

#[derive(Deserialize)]
#[serde(rename_all = "lowercase")]
enum FsyncName {
    Always,
    Interval,
    Never,
}

struct DurationText(Duration);

impl<'de> Deserialize<'de> for DurationText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(
            d,
            "a duration such as 500ms, 2s or 1m",
            |text| match parse_duration(text)? {
                d if d.is_zero() => Err(format!("{text:?}: must be more than zero")),
                d => Ok(DurationText(d)),
            },
        )
    }
}

struct SizeText(u64);

impl<'de> Deserialize<'de> for SizeText {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, "a size such as 64MiB, 500KiB or 1GiB", |text| {
            parse_size(text).map(SizeText)
        })
    }
}

struct QueueSize(usize);

impl<'de> Deserialize<'de> for QueueSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let n = usize::deserialize(d)?;
        if (1..=1_000_000).contains(&n) {
            Ok(QueueSize(n))
        } else {
            Err(serde::de::Error::custom(format!(
                "queue_size {n} must be between 1 and 1000000"
            )))
        }
    }
}

/// Parses `64MiB`, `500KiB`, `1GiB`, `10MB`, `4096` (bytes).
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let digits = t.bytes().take_while(u8::is_ascii_digit).count();
    let value: u64 = t[..digits]
        .parse()
        .map_err(|_| format!("{text:?} is not a size (use 64MiB, 500KiB, 1GiB)"))?;
    let unit: u64 = match t[digits..].trim() {
        "" | "B" => 1,
        "KiB" | "K" => 1 << 10,
        "KB" | "kB" => 1_000,
        "MiB" | "M" => 1 << 20,
        "MB" => 1_000_000,
        "GiB" | "G" => 1 << 30,
        "GB" => 1_000_000_000,
        other => return Err(format!("{text:?}: unknown size unit {other:?}")),
    };
    let size = value
        .checked_mul(unit)
        .ok_or_else(|| format!("{text:?} is too large"))?;
    if size < 4096 {
        return Err(format!("{text:?}: a ledger file must hold at least 4KiB"));
    }
    Ok(size)
}

/// A directory from the file: absolute, or relative to the config's directory.
fn resolve_dir(config: &Path, dir: String) -> PathBuf {
    let dir = PathBuf::from(dir);
    if dir.is_absolute() {
        dir
    } else {
        config.parent().unwrap_or(Path::new(".")).join(dir)
    }
}

impl OperationsSpec {
    /// Applies the sections to the defaults.
    pub(super) fn resolve(self, config: &Path) -> Operations {
        let mut ops = Operations::default();
        if let Some(s) = self.state {
            ops.state.dir = s.dir.map(|d| resolve_dir(config, d));
            if let Some(n) = s.compact_after {
                ops.state.compact_after = n.max(1);
            }
        }
        if let Some(l) = self.ledger {
            if let Some(e) = l.enabled {
                ops.ledger.enabled = e;
            }
            ops.ledger.dir = l.dir.map(|d| resolve_dir(config, d));
            let interval = l
                .fsync_interval
                .map(|d| d.0)
                .unwrap_or(Duration::from_secs(1));
            ops.ledger.fsync = match l.fsync {
                Some(FsyncName::Always) => FsyncPolicy::Always,
                Some(FsyncName::Never) => FsyncPolicy::Never,
                Some(FsyncName::Interval) | None => FsyncPolicy::Interval(interval),
            };
            if let Some(size) = l.max_file_size {
                ops.ledger.max_file_size = size.0;
            }
            if let Some(q) = l.queue_size {
                ops.ledger.queue_size = q.0;
            }
        }
        if let Some(e) = self.events {
            ops.events.verdict = e.verdict.unwrap_or(true);
            ops.events.penalty = e.penalty.unwrap_or(true);
        }
        if let Some(w) = self.watch {
            ops.watch.enabled = w.enabled.unwrap_or(false);
            if let Some(i) = w.interval {
                ops.watch.interval = i.0;
            }
        }
        ops
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;
    use crate::ledger::FsyncPolicy;
    use std::path::Path;
    use std::time::Duration;

    fn parse(text: &str) -> Result<Config, String> {
        Config::parse(text, Path::new("/etc/fs/test.yaml")).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_apply_without_the_sections() {
        let c = parse("rules: []\n").unwrap();
        let ops = &c.operations;
        assert_eq!(ops.state.dir, None);
        assert!(ops.ledger.enabled);
        assert_eq!(
            ops.ledger.fsync,
            FsyncPolicy::Interval(Duration::from_secs(1))
        );
        assert_eq!(ops.ledger.max_file_size, 64 << 20);
        assert!(ops.events.verdict);
        assert!(!ops.watch.enabled);
    }

    #[test]
    fn every_option_is_read() {
        let c = parse(
            "state:\n  dir: state\n  compact_after: 50\nledger:\n  dir: /var/log/cs\n  fsync: always\n  max_file_size: 1MiB\n  queue_size: 16\nevents:\n  verdict: false\nwatch:\n  enabled: true\n  interval: 500ms\n",
        )
        .unwrap();
        let ops = &c.operations;
        assert_eq!(ops.state.dir.as_deref(), Some(Path::new("/etc/fs/state")));
        assert_eq!(ops.state.compact_after, 50);
        assert_eq!(ops.ledger.dir.as_deref(), Some(Path::new("/var/log/cs")));
        assert_eq!(ops.ledger.fsync, FsyncPolicy::Always);
        assert_eq!(ops.ledger.max_file_size, 1 << 20);
        assert_eq!(ops.ledger.queue_size, 16);
        assert!(!ops.events.verdict);
        assert!(ops.events.penalty);
        assert_eq!(ops.watch.interval, Duration::from_millis(500));
        let c = parse("ledger:\n  fsync: interval\n  fsync_interval: 5s\n").unwrap();
        assert_eq!(
            c.operations.ledger.fsync,
            FsyncPolicy::Interval(Duration::from_secs(5))
        );
    }

    #[test]
    fn bad_values_name_their_line() {
        let err = parse("ledger:\n  fsync: sometimes\n").unwrap_err();
        assert!(err.starts_with("/etc/fs/test.yaml:2:10: "), "{err}");
        let err = parse("ledger:\n  max_file_size: 12 parsecs\n").unwrap_err();
        assert!(err.contains("unknown size unit"), "{err}");
        let err = parse("watch:\n  interval: 10\n").unwrap_err();
        assert!(err.starts_with("/etc/fs/test.yaml:2:13: "), "{err}");
        let err = parse("ledger:\n  queue_size: 0\n").unwrap_err();
        assert!(err.contains("between 1 and 1000000"), "{err}");
        let err = parse("state:\n  directory: x\n").unwrap_err();
        assert!(err.contains("unknown field `directory`"), "{err}");
    }

    #[test]
    fn runtime_list_names_are_defined_and_reserved() {
        let c = parse(
            "rules:\n  - name: a\n    caller_in: runtime-allow\n    action: allow\n  - name: b\n    caller_in: [runtime-block]\n    action: block\n",
        )
        .unwrap();
        let names: Vec<&str> = c
            .rules
            .iter()
            .map(|r| c.lists[r.caller_in[0]].name.as_str())
            .collect();
        assert_eq!(names, ["runtime-allow", "runtime-block"]);
        let err = parse("lists:\n  runtime-block: [\"+86170*\"]\n").unwrap_err();
        assert!(err.contains("runtime-block is reserved"), "{err}");
        assert!(err.starts_with("/etc/fs/test.yaml:2:"), "{err}");
    }
}
