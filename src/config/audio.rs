//! Audio paths in replies: `$${name}` FreeSWITCH global variables expanded at
//! load time, and the file checked then, so a missing recording is an error in
//! the config (with its line) instead of silence on a call.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Deserializer};

use super::context::in_context;
use super::fields::validated_str;

/// A function that looks up a FreeSWITCH global variable.
pub type GlobalLookup = Arc<dyn Fn(&str) -> Option<String> + Send + Sync>;

/// How audio paths are expanded and checked while a config loads.
#[derive(Clone, Default)]
pub struct LoadOptions {
    /// Variables given by hand (the CLI's `--global name=value`); tried first.
    pub vars: BTreeMap<String, String>,
    /// The running FreeSWITCH's global variables (the module sets this).
    pub globals: Option<GlobalLookup>,
    /// An unknown `$${name}` is an error (the module, which knows every
    /// global) rather than a path left unchecked with a note (the CLI).
    pub strict: bool,
}

impl fmt::Debug for LoadOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadOptions")
            .field("vars", &self.vars)
            .field("globals", &self.globals.is_some())
            .field("strict", &self.strict)
            .finish()
    }
}

impl LoadOptions {
    /// Options for the module: FreeSWITCH's globals, unknown ones are errors.
    pub fn with_globals(lookup: GlobalLookup) -> LoadOptions {
        LoadOptions {
            vars: BTreeMap::new(),
            globals: Some(lookup),
            strict: true,
        }
    }

    fn lookup(&self, name: &str) -> Option<String> {
        self.vars
            .get(name)
            .cloned()
            .or_else(|| self.globals.as_ref().and_then(|g| g(name)))
    }
}

/// An audio file or stream a reply plays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AudioPath {
    /// As written in the config.
    pub written: String,
    /// With `$${…}` expanded: what FreeSWITCH is asked to play.
    pub expanded: String,
}

impl fmt::Display for AudioPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.expanded)
    }
}

/// What checking a path found.
#[derive(Debug, PartialEq, Eq)]
enum Checked {
    /// Expanded and, if a file, present.
    Ok(AudioPath),
    /// Usable but not verifiable now; the note says why.
    Unchecked(AudioPath, String),
}

/// Sample-rate folders FreeSWITCH's sound files live in (mod_sndfile looks
/// for `dir/<rate>/name` when `dir/name` is absent).
const RATE_DIRS: [&str; 4] = ["8000", "16000", "32000", "48000"];

fn check(written: &str, options: &LoadOptions) -> Result<Checked, String> {
    if written.trim().is_empty() {
        return Err("an audio path cannot be empty".into());
    }
    if written.chars().any(char::is_whitespace) {
        return Err(format!(
            "audio path {written:?} contains a space: FreeSWITCH splits application arguments on spaces; rename the file"
        ));
    }
    // $${name}: expanded now.
    let mut expanded = String::new();
    let mut rest = written;
    while let Some(start) = rest.find("$${") {
        expanded.push_str(&rest[..start]);
        let after = &rest[start + 3..];
        let end = after
            .find('}')
            .ok_or_else(|| format!("unclosed $${{ in audio path {written:?}"))?;
        let name = &after[..end];
        match options.lookup(name) {
            Some(value) => expanded.push_str(&value),
            None if options.strict => {
                return Err(format!(
                    "unknown FreeSWITCH global variable $${{{name}}} in audio path {written:?}"
                ))
            }
            None => {
                let path = AudioPath {
                    written: written.into(),
                    expanded: written.into(),
                };
                return Ok(Checked::Unchecked(
                    path,
                    format!(
                        "audio path {written:?} not checked: $${{{name}}} is only known to FreeSWITCH (give it with --global {name}=<value>)"
                    ),
                ));
            }
        }
        rest = &after[end + 1..];
    }
    expanded.push_str(rest);
    let path = AudioPath {
        written: written.into(),
        expanded: expanded.clone(),
    };
    if expanded.contains("${") {
        return Ok(Checked::Unchecked(
            path,
            format!("audio path {written:?} not checked: its channel variables are expanded by FreeSWITCH at call time"),
        ));
    }
    // tone_stream://, silence_stream://, http://, … are not files.
    if expanded.contains("://") {
        return Ok(Checked::Ok(path));
    }
    let file = if expanded.starts_with('/') {
        PathBuf::from(&expanded)
    } else {
        match options.lookup("sound_prefix") {
            Some(prefix) => Path::new(&prefix).join(&expanded),
            None if options.strict => {
                return Err(format!(
                    "relative audio path {written:?} needs the global variable sound_prefix; write an absolute path such as $${{sounds_dir}}/…"
                ))
            }
            None => {
                return Ok(Checked::Unchecked(
                    path,
                    format!("audio path {written:?} not checked: relative to $${{sound_prefix}}, which only FreeSWITCH knows (give it with --global sound_prefix=<dir>)"),
                ))
            }
        }
    };
    if sound_file_exists(&file) {
        Ok(Checked::Ok(path))
    } else {
        Err(format!(
            "audio file {} not found (written as {written:?})",
            file.display()
        ))
    }
}

fn sound_file_exists(file: &Path) -> bool {
    if file.is_file() {
        return true;
    }
    let (Some(dir), Some(name)) = (file.parent(), file.file_name()) else {
        return false;
    };
    RATE_DIRS
        .iter()
        .any(|rate| dir.join(rate).join(name).is_file())
}

impl<'de> Deserialize<'de> for AudioPath {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        validated_str(d, "an audio file path or tone_stream://…", |v| {
            in_context(|ctx| match check(v, &ctx.load)? {
                Checked::Ok(path) => Ok(path),
                Checked::Unchecked(path, note) => {
                    ctx.notes.push(note);
                    Ok(path)
                }
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(strict: bool, vars: &[(&str, &str)]) -> LoadOptions {
        LoadOptions {
            vars: vars
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            globals: None,
            strict,
        }
    }

    fn temp_sounds(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("callscreen-audio-{name}-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("8000")).unwrap();
        std::fs::write(dir.join("here.wav"), b"RIFF").unwrap();
        std::fs::write(dir.join("8000/rated.wav"), b"RIFF").unwrap();
        dir
    }

    #[test]
    fn globals_are_expanded_and_files_checked() {
        let dir = temp_sounds("expand");
        let o = options(true, &[("sounds_dir", dir.to_str().unwrap())]);
        let got = check("$${sounds_dir}/here.wav", &o).unwrap();
        assert_eq!(
            got,
            Checked::Ok(AudioPath {
                written: "$${sounds_dir}/here.wav".into(),
                expanded: format!("{}/here.wav", dir.display()),
            })
        );
        // mod_sndfile's rate folders count.
        assert!(matches!(
            check("$${sounds_dir}/rated.wav", &o),
            Ok(Checked::Ok(_))
        ));
        let err = check("$${sounds_dir}/gone.wav", &o).unwrap_err();
        assert!(err.contains("gone.wav not found"), "{err}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn unknown_globals_are_errors_for_the_module_and_notes_offline() {
        let err = check("$${nope}/a.wav", &options(true, &[])).unwrap_err();
        assert!(
            err.contains("unknown FreeSWITCH global variable $${nope}"),
            "{err}"
        );
        match check("$${nope}/a.wav", &options(false, &[])).unwrap() {
            Checked::Unchecked(p, note) => {
                assert_eq!(p.expanded, "$${nope}/a.wav");
                assert!(note.contains("--global nope="), "{note}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn streams_channel_variables_and_spaces() {
        let o = options(true, &[]);
        assert!(matches!(
            check("tone_stream://%(500,500,425)", &o),
            Ok(Checked::Ok(_))
        ));
        assert!(matches!(
            check("/x/${lang}/a.wav", &o),
            Ok(Checked::Unchecked(..))
        ));
        assert!(check("/x/my file.wav", &o).unwrap_err().contains("space"));
        assert!(check("ivr/x.wav", &o).unwrap_err().contains("sound_prefix"));
    }
}
