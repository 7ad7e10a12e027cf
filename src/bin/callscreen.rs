//! `callscreen`: the offline twin of mod_callscreen. Validates a config and
//! checks numbers against it with the very engine the module runs.

use std::path::PathBuf;
use std::process::ExitCode;

use mod_callscreen::check_args::CheckRequest;
use mod_callscreen::commands;
use mod_callscreen::config::Config;
use mod_callscreen::engine::Engine;

const USAGE: &str = "usage:
  callscreen validate <config.yaml>
  callscreen check --config <config.yaml> [--profile NAME] [--var NAME=VALUE]...
                   [--name CALLER_NAME] [--time TIME] <caller> [<destination>]
    TIME: 2025-01-06T23:30:00+08:00, 2025-01-06T23:30[Asia/Shanghai], or
          2025-01-06T23:30 in this host's time zone (default: now)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(output) => {
            print!("{output}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::from(1)
        }
    }
}

fn run(args: &[String]) -> Result<String, String> {
    let words: Vec<&str> = args.iter().map(String::as_str).collect();
    match words.as_slice() {
        ["validate", path] => {
            let config = Config::load(&PathBuf::from(path)).map_err(|e| e.to_string())?;
            let engine = Engine::new(config);
            let c = engine.config();
            Ok(format!(
                "{path}: OK: {} rules, {} lists, {} entries, {} replies\n",
                engine.rule_count(),
                c.lists.len(),
                engine.entry_count(),
                c.replies.len()
            ))
        }
        ["check", rest @ ..] => {
            let (path, rest) = config_option(rest)?;
            let request = CheckRequest::parse(&rest).map_err(|e| format!("{e}\n{USAGE}"))?;
            let config = Config::load(&PathBuf::from(path)).map_err(|e| e.to_string())?;
            let engine = Engine::new(config);
            Ok(commands::check_request(&engine, &request))
        }
        ["help" | "--help" | "-h"] => Ok(format!("{USAGE}\n")),
        _ => Err(USAGE.to_string()),
    }
}

/// Takes `--config PATH` out of the arguments.
fn config_option<'a>(words: &[&'a str]) -> Result<(&'a str, Vec<&'a str>), String> {
    let at = words
        .iter()
        .position(|w| *w == "--config")
        .ok_or_else(|| format!("check needs --config <config.yaml>\n{USAGE}"))?;
    let path = words
        .get(at + 1)
        .copied()
        .ok_or_else(|| format!("--config needs a path\n{USAGE}"))?;
    let mut rest = words.to_vec();
    rest.drain(at..=at + 1);
    Ok((path, rest))
}
