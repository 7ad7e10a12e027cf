//! The `lists:` section: each list written inline (a sequence of patterns) or
//! as a mapping with entries, files (one pattern per line) and other lists it
//! includes.
//!
//! A mistake in a list file is reported at `file:line:column` of the list
//! file itself; a file that cannot be read at the line of the YAML naming it.

use std::cell::RefCell;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;

use super::context::in_context;
use super::fields::{validated_str, ListName, OneOrMany, PatternEntry};
use super::{ConfigError, List};
use crate::numbers::NumberPlan;
use crate::pattern::Pattern;

/// A list as written in the YAML.
pub(super) struct ListSpec {
    pub(super) patterns: Vec<Pattern>,
    pub(super) includes: Vec<String>,
}

impl<'de> Deserialize<'de> for ListSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = ListSpec;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(
                    "a sequence of quoted patterns, or a mapping with entries, file and include",
                )
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ListSpec, A::Error> {
                let mut patterns = Vec::new();
                while let Some(PatternEntry(p)) = seq.next_element()? {
                    patterns.push(p);
                }
                Ok(ListSpec {
                    patterns,
                    includes: Vec::new(),
                })
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ListSpec, A::Error> {
                let mut spec = ListSpec {
                    patterns: Vec::new(),
                    includes: Vec::new(),
                };
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "entries" => {
                            let entries: Vec<PatternEntry> = map.next_value()?;
                            spec.patterns.extend(entries.into_iter().map(|e| e.0));
                        }
                        "file" | "files" => {
                            let files: OneOrMany<ListFile> = map.next_value()?;
                            for file in files.0 {
                                spec.patterns.extend(file.0);
                            }
                        }
                        "include" => {
                            let names: OneOrMany<ListName> = map.next_value()?;
                            spec.includes.extend(names.0.into_iter().map(|n| n.0));
                        }
                        other => {
                            return Err(de::Error::unknown_field(
                                other,
                                &["entries", "file", "files", "include"],
                            ))
                        }
                    }
                }
                Ok(spec)
            }
        }
        d.deserialize_any(V)
    }
}

/// The patterns of one list file, read while the YAML naming it is parsed.
struct ListFile(Vec<Pattern>);

impl<'de> Deserialize<'de> for ListFile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, "a list file path", |name| {
            let (base, plan) = in_context(|ctx| (ctx.base_dir.clone(), ctx.plan.clone()));
            let path = resolve_path(&base, name);
            in_context(|ctx| {
                if !ctx.list_files.contains(&path) {
                    ctx.list_files.push(path.clone());
                }
            });
            let text = std::fs::read(&path)
                .map_err(|e| format!("cannot read list file {}: {e}", path.display()))?;
            match read_list_file(&text, &path, &plan) {
                Ok(patterns) => Ok(ListFile(patterns)),
                Err(err) => {
                    let message = format!("in list file: {err}");
                    FILE_ERROR.with(|slot| *slot.borrow_mut() = Some(err));
                    Err(message)
                }
            }
        })
    }
}

thread_local! {
    /// A list file's own error, which names the list file rather than the YAML.
    static FILE_ERROR: RefCell<Option<ConfigError>> = const { RefCell::new(None) };
}

/// Takes the error of a list file seen during the last parse, if any.
pub(super) fn take_file_error() -> Option<ConfigError> {
    FILE_ERROR.with(|slot| slot.borrow_mut().take())
}

/// A path from the YAML, relative to the YAML file's directory.
pub(super) fn resolve_path(base: &Path, name: &str) -> PathBuf {
    let path = Path::new(name);
    if path.is_absolute() {
        path.to_path_buf()
    } else {
        base.join(path)
    }
}

/// Reads a list file: one pattern per line; blank lines and `#` comments
/// (whole lines, or after a pattern) are skipped.
pub fn read_list_file(
    bytes: &[u8],
    path: &Path,
    plan: &NumberPlan,
) -> Result<Vec<Pattern>, ConfigError> {
    let invalid = |line: usize, column: usize, message: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        line,
        column,
        message,
    };
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let (line, column) = super::line_column(bytes, e.valid_up_to());
        invalid(line, column, "not UTF-8 text".into())
    })?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut patterns = Vec::with_capacity(text.len() / 16);
    for (i, line) in text.lines().enumerate() {
        let body = line.trim_start();
        if body.is_empty() || body.starts_with('#') {
            continue;
        }
        let column = line.len() - body.len() + 1;
        let entry = if body.starts_with('/') {
            // A regex may hold '#': a comment follows its closing slash.
            match body.rfind('/') {
                Some(end) if end > 0 && after_is_comment(&body[end + 1..]) => &body[..=end],
                _ => body,
            }
        } else {
            body.split('#').next().unwrap_or(body)
        };
        let pattern =
            Pattern::parse(entry, plan).map_err(|e| invalid(i + 1, column, e.to_string()))?;
        patterns.push(pattern);
    }
    Ok(patterns)
}

fn after_is_comment(rest: &str) -> bool {
    let rest = rest.trim_start();
    rest.is_empty() || rest.starts_with('#')
}

/// Checks that no list includes itself, directly or through others.
/// Refuses include cycles: the error names the list where the cycle was
/// found (its index) and the chain.
pub(super) fn check_includes(lists: &[List]) -> Result<(), (usize, String)> {
    fn visit(
        lists: &[List],
        at: usize,
        stack: &mut Vec<usize>,
        done: &mut [bool],
    ) -> Result<(), (usize, String)> {
        if let Some(pos) = stack.iter().position(|&s| s == at) {
            let mut chain: Vec<&str> = stack[pos..]
                .iter()
                .map(|&i| lists[i].name.as_str())
                .collect();
            chain.push(&lists[at].name);
            return Err((
                at,
                format!(
                    "list {:?} includes itself: {}",
                    lists[at].name,
                    chain.join(" -> ")
                ),
            ));
        }
        if done[at] {
            return Ok(());
        }
        stack.push(at);
        for &next in &lists[at].includes {
            visit(lists, next, stack, done)?;
        }
        stack.pop();
        done[at] = true;
        Ok(())
    }
    let mut done = vec![false; lists.len()];
    for i in 0..lists.len() {
        visit(lists, i, &mut Vec::new(), &mut done)?;
    }
    Ok(())
}

/// Every list a list stands for: itself and all it includes, transitively,
/// each once, itself first.
pub fn closure(lists: &[List], start: usize) -> Vec<usize> {
    let mut out = vec![start];
    let mut i = 0;
    while i < out.len() {
        for &next in &lists[out[i]].includes {
            if !out.contains(&next) {
                out.push(next);
            }
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(text: &str) -> Result<Vec<String>, String> {
        read_list_file(
            text.as_bytes(),
            Path::new("pools.txt"),
            &NumberPlan::default(),
        )
        .map(|ps| ps.iter().map(ToString::to_string).collect())
        .map_err(|e| e.to_string())
    }

    #[test]
    fn a_list_file_has_one_pattern_per_line_and_comments() {
        let got = read(
            "\u{feff}# virtual operators\n+86170*\n\n  0171*   # trailing comment\n/^\\+86(165|167)#?\\d+$/  # regex with #\n013800138000..013800138099\n+86138001380XX\n",
        )
        .unwrap();
        assert_eq!(
            got,
            [
                "+86170*",
                "+86171*",
                "/^\\+86(165|167)#?\\d+$/",
                "+8613800138000..+8613800138099",
                "+86138001380XX"
            ]
        );
    }

    #[test]
    fn a_bad_line_is_reported_with_its_file_line_and_column() {
        let err = read("+86170*\n# ok\n   +86*171\n").unwrap_err();
        assert!(err.starts_with("pools.txt:3:4: "), "{err}");
        assert!(err.contains("'*' may only end a prefix"), "{err}");
        let err = read_list_file(
            b"+86170*\n\xff\n",
            Path::new("x.txt"),
            &NumberPlan::default(),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(err, "x.txt:2:1: not UTF-8 text");
    }
}

#[cfg(test)]
mod config_tests {
    use crate::config::{Config, ConfigError};
    use crate::pattern::Pattern;
    use std::path::{Path, PathBuf};

    struct Dir(PathBuf);

    impl Dir {
        fn new(name: &str) -> Dir {
            let dir = std::env::temp_dir()
                .join(format!("callscreen-lists-{name}-{}", std::process::id()));
            std::fs::create_dir_all(dir.join("lists")).unwrap();
            Dir(dir)
        }
        fn write(&self, name: &str, text: &str) -> PathBuf {
            let path = self.0.join(name);
            std::fs::write(&path, text).unwrap();
            path
        }
    }

    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    #[test]
    fn list_files_are_found_next_to_the_yaml() {
        let dir = Dir::new("files");
        dir.write("lists/pools.txt", "# pools\n+86170*\n0171*\n");
        dir.write("lists/numbers.txt", "13800138000\n");
        let yaml = dir.write(
            "callscreen.yaml",
            "lists:\n  pools:\n    file: lists/pools.txt\n    entries: [\"+86165*\"]\n  all:\n    files: [lists/numbers.txt]\n    include: pools\n",
        );
        let c = Config::load(&yaml).unwrap();
        let pools = c.lists.iter().find(|l| l.name == "pools").unwrap();
        assert_eq!(pools.patterns.len(), 3);
        let all = c.lists.iter().find(|l| l.name == "all").unwrap();
        assert_eq!(
            all.patterns,
            [Pattern::Exact(
                crate::numbers::E164::from_digits("8613800138000").unwrap()
            )]
        );
        assert_eq!(
            all.includes,
            [c.lists.iter().position(|l| l.name == "pools").unwrap()]
        );
        // The files read, for file watching.
        assert_eq!(
            c.list_files,
            [
                dir.0.join("lists/pools.txt"),
                dir.0.join("lists/numbers.txt")
            ]
        );
    }

    #[test]
    fn a_bad_line_in_a_list_file_names_that_file_and_line() {
        let dir = Dir::new("bad");
        let list = dir.write("lists/pools.txt", "+86170*\n\n  +86*171\n");
        let yaml = dir.write(
            "callscreen.yaml",
            "lists:\n  pools:\n    file: lists/pools.txt\n",
        );
        let err = Config::load(&yaml).unwrap_err();
        assert!(
            matches!(
                err,
                ConfigError::Invalid {
                    line: 3,
                    column: 3,
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .starts_with(&format!("{}:3:3: pattern \"+86*171\"", list.display())),
            "{err}"
        );
        // The next parse is not confused by the previous error.
        std::fs::write(&list, "+86170*\n").unwrap();
        assert!(Config::load(&yaml).is_ok());
    }

    #[test]
    fn a_missing_list_file_is_reported_at_the_yaml_line() {
        let dir = Dir::new("missing");
        let yaml = dir.write(
            "callscreen.yaml",
            "lists:\n  pools:\n    file: lists/nope.txt\n",
        );
        let err = Config::load(&yaml).unwrap_err().to_string();
        assert!(
            err.starts_with(&format!("{}:3:11: ", yaml.display())),
            "{err}"
        );
        assert!(err.contains("cannot read list file"), "{err}");
        assert!(err.contains("nope.txt"), "{err}");
    }

    #[test]
    fn include_cycles_and_unknown_includes_are_refused() {
        let err = Config::parse(
            "lists:\n  a: { include: b }\n  b: { include: [c] }\n  c: { include: a }\n",
            Path::new("c.yaml"),
        )
        .unwrap_err()
        .to_string();
        assert_eq!(
            err,
            "c.yaml:2:3: list \"a\" includes itself: a -> b -> c -> a"
        );
        let err = Config::parse("lists:\n  a: { include: zzz }\n", Path::new("c.yaml"))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("c.yaml:2:17: "), "{err}");
        assert!(err.contains("unknown list \"zzz\""), "{err}");
        let err = Config::parse("lists:\n  a: { entry: [] }\n", Path::new("c.yaml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `entry`"), "{err}");
    }
}
