//! A test that cannot run here says so, loudly, and is counted as skipped:
//! `make test` sets `CALLSCREEN_SKIP_LOG`, and each skip adds a line to that
//! file, which the total at the end subtracts from the passed tests.

use std::io::Write as _;

/// Reports that `test` did not run, and why.
pub fn skip(test: &str, why: &str) {
    eprintln!("\n*** SKIPPED {test}: {why} ***\n");
    if let Some(path) = std::env::var_os("CALLSCREEN_SKIP_LOG") {
        let line = format!("{test}: {why}\n");
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .and_then(|mut f| f.write_all(line.as_bytes()));
        if let Err(e) = written {
            eprintln!("could not note the skip in {}: {e}", path.to_string_lossy());
        }
    }
}
