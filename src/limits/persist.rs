//! The state file: every limit table (penalties, offences and counters) in
//! one binary snapshot, written to `<file>.tmp`, synced, and renamed over the
//! previous one, so a crash leaves either the old or the new snapshot, never
//! half of one. A checksum guards against a damaged file.
//!
//! Layout (little-endian): magic `CALLSCREEN-LIMITS`, version u32, table
//! count u32; per table: limit name (u16 length + UTF-8), shadow u8, key kind
//! u8, digits u8, threshold count u8 and per threshold (kind u8, max u32,
//! window u32), max_keys u64, key count u64, the keys (two u64 each), the
//! state (stride u32 per key); then an FNV-1a 64 checksum of all before it.

use std::fmt;
use std::io::Write;
use std::path::Path;

use super::key::TrackKey;
use super::layout::{Layout, MAX_THRESHOLDS};
use crate::config::duration::Seconds;
use crate::config::limits::{LimitKey, Threshold, ThresholdKind};

const MAGIC: &[u8] = b"CALLSCREEN-LIMITS";
const VERSION: u32 = 1;

/// One table as saved.
#[derive(Clone, Debug, PartialEq)]
pub struct SavedTable {
    /// The limit's name.
    pub limit: String,
    /// Whether the limit was a shadow limit.
    pub shadow: bool,
    /// Key kind, digits and thresholds.
    pub layout: Layout,
    /// Its cap.
    pub max_keys: usize,
    /// Keys.
    pub keys: Vec<TrackKey>,
    /// `layout.stride` slots per key.
    pub slots: Vec<u32>,
}

/// Why a state file could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PersistError {
    /// Not a state file of this module.
    NotAStateFile,
    /// Written by a newer version.
    Version(u32),
    /// Shorter than its contents say.
    Truncated,
    /// The checksum does not match.
    Checksum,
    /// A field holds a value no version writes.
    Corrupt(&'static str),
}

impl fmt::Display for PersistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PersistError::NotAStateFile => f.write_str("not a callscreen limits state file"),
            PersistError::Version(v) => write!(f, "state file version {v} is not supported"),
            PersistError::Truncated => f.write_str("state file is truncated"),
            PersistError::Checksum => f.write_str("state file checksum does not match (damaged)"),
            PersistError::Corrupt(what) => write!(f, "state file is damaged: bad {what}"),
        }
    }
}

impl std::error::Error for PersistError {}

fn fnv1a(bytes: &[u8]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

/// The file's bytes for these tables.
pub fn encode(tables: &[SavedTable]) -> Vec<u8> {
    let size: usize = tables
        .iter()
        .map(|t| 64 + t.limit.len() + t.keys.len() * 16 + t.slots.len() * 4)
        .sum();
    let mut out = Vec::with_capacity(32 + size);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(tables.len() as u32).to_le_bytes());
    for t in tables {
        let name = t.limit.as_bytes();
        out.extend_from_slice(&(name.len().min(u16::MAX as usize) as u16).to_le_bytes());
        out.extend_from_slice(&name[..name.len().min(u16::MAX as usize)]);
        out.push(u8::from(t.shadow));
        out.push(t.layout.kind.code());
        out.push(t.layout.digits);
        out.push(t.layout.thresholds.len() as u8);
        for th in &t.layout.thresholds {
            out.push(match th.kind {
                ThresholdKind::Calls => 0,
                ThresholdKind::Distinct => 1,
            });
            out.extend_from_slice(&th.max.to_le_bytes());
            out.extend_from_slice(&th.window.0.to_le_bytes());
        }
        out.extend_from_slice(&(t.max_keys as u64).to_le_bytes());
        out.extend_from_slice(&(t.keys.len() as u64).to_le_bytes());
        for k in &t.keys {
            out.extend_from_slice(&k.caller.to_le_bytes());
            out.extend_from_slice(&k.destination.to_le_bytes());
        }
        for s in &t.slots {
            out.extend_from_slice(&s.to_le_bytes());
        }
    }
    let sum = fnv1a(&out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], PersistError> {
        let end = self.at.checked_add(n).ok_or(PersistError::Truncated)?;
        let out = self
            .bytes
            .get(self.at..end)
            .ok_or(PersistError::Truncated)?;
        self.at = end;
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8, PersistError> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, PersistError> {
        Ok(u16::from_le_bytes(
            self.take(2)?.try_into().unwrap_or_default(),
        ))
    }
    fn u32(&mut self) -> Result<u32, PersistError> {
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().unwrap_or_default(),
        ))
    }
    fn u64(&mut self) -> Result<u64, PersistError> {
        Ok(u64::from_le_bytes(
            self.take(8)?.try_into().unwrap_or_default(),
        ))
    }
}

/// Reads the tables back.
pub fn decode(bytes: &[u8]) -> Result<Vec<SavedTable>, PersistError> {
    if !bytes.starts_with(MAGIC) {
        return Err(PersistError::NotAStateFile);
    }
    if bytes.len() < MAGIC.len() + 16 {
        return Err(PersistError::Truncated);
    }
    let (body, sum) = bytes.split_at(bytes.len() - 8);
    let mut r = Reader {
        bytes: body,
        at: MAGIC.len(),
    };
    let version = r.u32()?;
    if version != VERSION {
        return Err(PersistError::Version(version));
    }
    if fnv1a(body).to_le_bytes() != sum {
        return Err(PersistError::Checksum);
    }
    let count = r.u32()?;
    let mut tables = Vec::new();
    for _ in 0..count {
        let len = usize::from(r.u16()?);
        let limit = std::str::from_utf8(r.take(len)?)
            .map_err(|_| PersistError::Corrupt("limit name"))?
            .to_string();
        let shadow = r.u8()? != 0;
        let kind = LimitKey::from_code(r.u8()?).ok_or(PersistError::Corrupt("key kind"))?;
        let digits = r.u8()?;
        let n = usize::from(r.u8()?);
        if n > MAX_THRESHOLDS {
            return Err(PersistError::Corrupt("threshold count"));
        }
        let mut thresholds = Vec::with_capacity(n);
        for _ in 0..n {
            let kind = match r.u8()? {
                0 => ThresholdKind::Calls,
                1 => ThresholdKind::Distinct,
                _ => return Err(PersistError::Corrupt("threshold kind")),
            };
            let max = r.u32()?;
            let window = Seconds(r.u32()?);
            if max == 0 || max > 1_000_000 {
                return Err(PersistError::Corrupt("threshold"));
            }
            thresholds.push(Threshold { kind, max, window });
        }
        let layout = Layout::new(kind, digits, &thresholds);
        let max_keys = r.u64()? as usize;
        let keys_len = r.u64()? as usize;
        let need = keys_len
            .checked_mul(16 + 4 * layout.stride)
            .ok_or(PersistError::Truncated)?;
        if need > body.len() {
            return Err(PersistError::Truncated);
        }
        let mut keys = Vec::with_capacity(keys_len);
        for _ in 0..keys_len {
            keys.push(TrackKey {
                caller: r.u64()?,
                destination: r.u64()?,
            });
        }
        let mut slots = Vec::with_capacity(keys_len * layout.stride);
        for _ in 0..keys_len * layout.stride {
            slots.push(r.u32()?);
        }
        tables.push(SavedTable {
            limit,
            shadow,
            layout,
            max_keys,
            keys,
            slots,
        });
    }
    if r.at != body.len() {
        return Err(PersistError::Corrupt("length"));
    }
    Ok(tables)
}

/// Replaces `path` with `bytes` so that a crash leaves the old or the new
/// file whole: write a temporary file beside it, sync, rename, sync the
/// directory. Creates the directory if needed.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty());
    if let Some(dir) = dir {
        std::fs::create_dir_all(dir)?;
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = std::path::PathBuf::from(tmp);
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    if let Some(dir) = dir {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> SavedTable {
        let layout = Layout::new(
            LimitKey::CallerPrefix,
            7,
            &[Threshold {
                kind: ThresholdKind::Distinct,
                max: 2,
                window: Seconds(3600),
            }],
        );
        let stride = layout.stride;
        SavedTable {
            limit: "pools".into(),
            shadow: true,
            layout,
            max_keys: 100,
            keys: vec![
                TrackKey {
                    caller: 1,
                    destination: 2,
                },
                TrackKey {
                    caller: 3,
                    destination: 0,
                },
            ],
            slots: (0..2 * stride as u32).collect(),
        }
    }

    #[test]
    fn tables_round_trip_and_damage_is_detected() {
        let bytes = encode(&[table(), table()]);
        assert_eq!(decode(&bytes).unwrap(), vec![table(), table()]);
        let mut damaged = bytes.clone();
        damaged[40] ^= 1;
        assert_eq!(decode(&damaged), Err(PersistError::Checksum));
        assert_eq!(
            decode(&bytes[..bytes.len() - 3]),
            Err(PersistError::Checksum)
        );
        assert_eq!(decode(b"hello"), Err(PersistError::NotAStateFile));
        assert_eq!(decode(&encode(&[])).unwrap(), vec![]);
    }
}
