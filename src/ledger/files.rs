//! Ledger file names: one file per UTC day, `ledger-YYYY-MM-DD.jsonl`, and
//! when a day's file reaches the size limit, `ledger-YYYY-MM-DD.1.jsonl`,
//! `.2`, … Nothing is ever renamed, so a reader never misses a line.

use std::path::{Path, PathBuf};

/// The file for `date` (`YYYY-MM-DD`) with sequence number `seq`.
pub fn file_name(date: &str, seq: u32) -> String {
    if seq == 0 {
        format!("ledger-{date}.jsonl")
    } else {
        format!("ledger-{date}.{seq}.jsonl")
    }
}

/// (date, seq) of a ledger file name, if it is one.
pub fn parse_name(name: &str) -> Option<(String, u32)> {
    let stem = name.strip_prefix("ledger-")?.strip_suffix(".jsonl")?;
    let (date, seq) = match stem.split_once('.') {
        Some((d, s)) => (d, s.parse().ok()?),
        None => (stem, 0),
    };
    let b = date.as_bytes();
    (b.len() == 10 && b[4] == b'-' && b[7] == b'-').then(|| (date.to_string(), seq))
}

/// Every ledger file in `dir`, oldest first.
pub fn list(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files: Vec<((String, u32), PathBuf)> = std::fs::read_dir(dir)?
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            parse_name(&name).map(|key| (key, e.path()))
        })
        .collect();
    files.sort();
    Ok(files.into_iter().map(|(_, p)| p).collect())
}

/// The highest sequence number of `date` already in `dir` (0 if none).
pub fn last_seq(dir: &Path, date: &str) -> u32 {
    std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| parse_name(&e.file_name().to_string_lossy()))
                .filter(|(d, _)| d == date)
                .map(|(_, s)| s)
                .max()
                .unwrap_or(0)
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_sort_by_day_then_sequence() {
        assert_eq!(file_name("2026-05-04", 0), "ledger-2026-05-04.jsonl");
        assert_eq!(file_name("2026-05-04", 2), "ledger-2026-05-04.2.jsonl");
        assert_eq!(
            parse_name("ledger-2026-05-04.2.jsonl"),
            Some(("2026-05-04".into(), 2))
        );
        assert_eq!(
            parse_name("ledger-2026-05-04.jsonl"),
            Some(("2026-05-04".into(), 0))
        );
        assert_eq!(parse_name("state.journal"), None);
        assert_eq!(parse_name("ledger-x.jsonl"), None);
    }
}
