//! An append-only journal of records, durable once `append` returns.
//!
//! File layout: the 8-byte magic `CSJOURN1`, then records, each framed as
//! `[payload length: u32 LE][CRC-32 of the payload: u32 LE][payload]`.
//! `append` writes a whole frame with one `write` and then `fdatasync`s, so a
//! record that was acknowledged survives a crash (`kill -9`, power loss with
//! honest disks). A crash in the middle of an append leaves a torn last
//! record; [`Journal::open`] detects it (short frame or checksum mismatch),
//! reports it, copies the bytes aside for inspection and truncates the file
//! to the last good record, so the journal loads instead of refusing to.
//! [`Journal::rewrite`] compacts: it writes the live records to a temporary
//! file, syncs it, renames it over the journal and syncs the directory.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// First bytes of every journal file.
pub const MAGIC: &[u8; 8] = b"CSJOURN1";

/// Largest record accepted; a longer length field is treated as damage.
pub const MAX_RECORD: usize = 1 << 20;

const FRAME_HEADER: usize = 8;

/// What went wrong with a journal file.
#[derive(Debug)]
pub enum JournalError {
    /// An I/O operation failed.
    Io {
        /// What was being done.
        action: &'static str,
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: io::Error,
    },
    /// The file exists but is not a journal (wrong magic).
    NotAJournal(PathBuf),
    /// A record larger than [`MAX_RECORD`] was offered.
    TooLarge(usize),
}

impl fmt::Display for JournalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JournalError::Io {
                action,
                path,
                source,
            } => write!(f, "{}: cannot {action}: {source}", path.display()),
            JournalError::NotAJournal(p) => write!(
                f,
                "{}: not a mod_callscreen journal (bad magic); move it away",
                p.display()
            ),
            JournalError::TooLarge(n) => {
                write!(f, "record of {n} bytes exceeds the limit of {MAX_RECORD}")
            }
        }
    }
}

impl std::error::Error for JournalError {}

fn io_err<'a>(action: &'static str, path: &'a Path) -> impl FnOnce(io::Error) -> JournalError + 'a {
    move |source| JournalError::Io {
        action,
        path: path.to_path_buf(),
        source,
    }
}

/// A damaged tail found when the journal was opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TornTail {
    /// Offset of the first byte that did not form a good record.
    pub offset: u64,
    /// How many bytes were cut off.
    pub bytes: u64,
    /// Why they were rejected.
    pub why: String,
    /// Where the cut bytes were saved, if they could be.
    pub saved_to: Option<PathBuf>,
}

impl fmt::Display for TornTail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "skipped a torn record at byte {} ({} bytes: {})",
            self.offset, self.bytes, self.why
        )?;
        if let Some(p) = &self.saved_to {
            write!(f, "; the bytes were saved to {}", p.display())?;
        }
        Ok(())
    }
}

/// What `open` read back.
#[derive(Debug, Default)]
pub struct Replay {
    /// Every good record, in order.
    pub records: Vec<Vec<u8>>,
    /// The damaged tail, if there was one.
    pub torn: Option<TornTail>,
}

/// An open journal, positioned for appending.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    records: usize,
    bytes: u64,
}

impl Journal {
    /// Opens (or creates) the journal at `path` and reads every record back.
    pub fn open(path: &Path) -> Result<(Journal, Replay), JournalError> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(io_err("open", path))?;
        let mut data = Vec::new();
        file.read_to_end(&mut data).map_err(io_err("read", path))?;
        if data.is_empty() {
            file.write_all(MAGIC).map_err(io_err("write", path))?;
            file.sync_all().map_err(io_err("sync", path))?;
            sync_dir(path)?;
            data.extend_from_slice(MAGIC);
        } else if data.len() < MAGIC.len() && MAGIC.starts_with(&data) {
            // Crashed while creating the file: finish the header.
            file.set_len(0).map_err(io_err("truncate", path))?;
            file.seek(SeekFrom::Start(0))
                .map_err(io_err("seek", path))?;
            file.write_all(MAGIC).map_err(io_err("write", path))?;
            file.sync_all().map_err(io_err("sync", path))?;
            data = MAGIC.to_vec();
        } else if !data.starts_with(MAGIC) {
            return Err(JournalError::NotAJournal(path.to_path_buf()));
        }

        let (records, good_end, damage) = parse_frames(&data);
        let mut replay = Replay {
            records,
            torn: None,
        };
        if let Some(why) = damage {
            let tail = &data[good_end..];
            let saved_to = save_aside(path, good_end as u64, tail);
            file.set_len(good_end as u64)
                .map_err(io_err("truncate", path))?;
            file.sync_all().map_err(io_err("sync", path))?;
            replay.torn = Some(TornTail {
                offset: good_end as u64,
                bytes: tail.len() as u64,
                why,
                saved_to,
            });
        }
        file.seek(SeekFrom::End(0)).map_err(io_err("seek", path))?;
        let journal = Journal {
            path: path.to_path_buf(),
            file,
            records: replay.records.len(),
            bytes: good_end as u64,
        };
        Ok((journal, replay))
    }

    /// Appends one record and waits until it is on disk.
    pub fn append(&mut self, payload: &[u8]) -> Result<(), JournalError> {
        if payload.len() > MAX_RECORD {
            return Err(JournalError::TooLarge(payload.len()));
        }
        let frame = frame(payload);
        if let Err(source) = self.file.write_all(&frame) {
            // A partial frame must not stay in front of the next append.
            let _ = self.file.set_len(self.bytes);
            let _ = self.file.seek(SeekFrom::End(0));
            return Err(JournalError::Io {
                action: "append to",
                path: self.path.clone(),
                source,
            });
        }
        self.file.sync_data().map_err(io_err("sync", &self.path))?;
        self.records += 1;
        self.bytes += frame.len() as u64;
        Ok(())
    }

    /// Replaces the whole journal with `payloads`, atomically: readers see
    /// either the old file or the new one, never a mix.
    pub fn rewrite<'a>(
        &mut self,
        payloads: impl IntoIterator<Item = &'a [u8]>,
    ) -> Result<(), JournalError> {
        let tmp = self.path.with_extension("compact");
        let mut out = Vec::from(&MAGIC[..]);
        let mut count = 0;
        for p in payloads {
            if p.len() > MAX_RECORD {
                return Err(JournalError::TooLarge(p.len()));
            }
            out.extend_from_slice(&frame(p));
            count += 1;
        }
        {
            let mut f = File::create(&tmp).map_err(io_err("create", &tmp))?;
            f.write_all(&out).map_err(io_err("write", &tmp))?;
            f.sync_all().map_err(io_err("sync", &tmp))?;
        }
        std::fs::rename(&tmp, &self.path).map_err(io_err("rename over", &self.path))?;
        sync_dir(&self.path)?;
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .open(&self.path)
            .map_err(io_err("reopen", &self.path))?;
        file.seek(SeekFrom::End(0))
            .map_err(io_err("seek", &self.path))?;
        self.file = file;
        self.records = count;
        self.bytes = out.len() as u64;
        Ok(())
    }

    /// Records in the file.
    pub fn records(&self) -> usize {
        self.records
    }

    /// Size of the file in bytes.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The journal's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Frames a payload: length, checksum, bytes.
fn frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(FRAME_HEADER + payload.len());
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// Reads frames after the magic: the good records, where they end, and why
/// the rest (if any) was rejected.
fn parse_frames(data: &[u8]) -> (Vec<Vec<u8>>, usize, Option<String>) {
    let mut records = Vec::new();
    let mut at = MAGIC.len();
    while at < data.len() {
        let rest = &data[at..];
        if rest.len() < FRAME_HEADER {
            return (records, at, Some("incomplete record header".into()));
        }
        let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let crc = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
        if len > MAX_RECORD {
            return (records, at, Some(format!("implausible length {len}")));
        }
        if rest.len() < FRAME_HEADER + len {
            return (
                records,
                at,
                Some(format!(
                    "record of {len} bytes cut after {}",
                    rest.len() - FRAME_HEADER
                )),
            );
        }
        let payload = &rest[FRAME_HEADER..FRAME_HEADER + len];
        if crc32(payload) != crc {
            return (records, at, Some("checksum mismatch".into()));
        }
        records.push(payload.to_vec());
        at += FRAME_HEADER + len;
    }
    (records, at, None)
}

fn save_aside(path: &Path, offset: u64, bytes: &[u8]) -> Option<PathBuf> {
    let aside = PathBuf::from(format!("{}.torn-{offset}", path.display()));
    std::fs::write(&aside, bytes).ok().map(|_| aside)
}

/// Makes a rename or creation in `path`'s directory durable.
fn sync_dir(path: &Path) -> Result<(), JournalError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let d = File::open(dir).map_err(io_err("open directory", dir))?;
    d.sync_all().map_err(io_err("sync directory", dir))
}

const CRC_TABLE: [u32; 256] = {
    let mut table = [0u32; 256];
    let mut i = 0;
    while i < 256 {
        let mut c = i as u32;
        let mut k = 0;
        while k < 8 {
            c = if c & 1 != 0 {
                0xEDB8_8320 ^ (c >> 1)
            } else {
                c >> 1
            };
            k += 1;
        }
        table[i] = c;
        i += 1;
    }
    table
};

/// CRC-32 (IEEE 802.3, the one of zlib and PNG).
pub fn crc32(bytes: &[u8]) -> u32 {
    let mut c = 0xFFFF_FFFFu32;
    for &b in bytes {
        c = CRC_TABLE[((c ^ u32::from(b)) & 0xFF) as usize] ^ (c >> 8);
    }
    c ^ 0xFFFF_FFFF
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("callscreen-journal-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("state.journal")
    }

    #[test]
    fn crc32_matches_the_standard_check_value() {
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    #[test]
    fn appended_records_replay_in_order() {
        let path = temp("replay");
        {
            let (mut j, replay) = Journal::open(&path).unwrap();
            assert!(replay.records.is_empty() && replay.torn.is_none());
            for r in ["one", "two", "three"] {
                j.append(r.as_bytes()).unwrap();
            }
            assert_eq!(j.records(), 3);
        }
        let (mut j, replay) = Journal::open(&path).unwrap();
        assert_eq!(
            replay.records,
            vec![b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]
        );
        j.append(b"four").unwrap();
        let (_, replay) = Journal::open(&path).unwrap();
        assert_eq!(replay.records.len(), 4);
        assert_eq!(replay.records[3], b"four");
    }

    #[test]
    fn a_torn_tail_at_any_byte_is_skipped_and_the_rest_loads() {
        let path = temp("torn");
        {
            let (mut j, _) = Journal::open(&path).unwrap();
            j.append(b"first record").unwrap();
            j.append(b"second record").unwrap();
        }
        let full = std::fs::read(&path).unwrap();
        let first_end = MAGIC.len() + FRAME_HEADER + b"first record".len();
        // Cut the second record at every possible byte.
        for cut in first_end + 1..full.len() {
            std::fs::write(&path, &full[..cut]).unwrap();
            let (mut j, replay) = Journal::open(&path).unwrap();
            assert_eq!(
                replay.records,
                vec![b"first record".to_vec()],
                "cut at {cut}"
            );
            let torn = replay.torn.expect("torn tail reported");
            assert_eq!(torn.offset as usize, first_end);
            assert_eq!(torn.bytes as usize, cut - first_end);
            assert_eq!(
                std::fs::read(torn.saved_to.unwrap()).unwrap(),
                &full[first_end..cut]
            );
            // The file was cut back, so new records follow good ones.
            j.append(b"after").unwrap();
            let (_, again) = Journal::open(&path).unwrap();
            assert_eq!(again.records.len(), 2, "cut at {cut}");
            assert!(again.torn.is_none());
        }
    }

    #[test]
    fn a_flipped_bit_is_a_checksum_mismatch() {
        let path = temp("bitflip");
        {
            let (mut j, _) = Journal::open(&path).unwrap();
            j.append(b"keep").unwrap();
            j.append(b"damaged").unwrap();
        }
        let mut bytes = std::fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x01;
        std::fs::write(&path, &bytes).unwrap();
        let (_, replay) = Journal::open(&path).unwrap();
        assert_eq!(replay.records, vec![b"keep".to_vec()]);
        assert_eq!(replay.torn.unwrap().why, "checksum mismatch");
    }

    #[test]
    fn rewrite_compacts_atomically() {
        let path = temp("compact");
        let (mut j, _) = Journal::open(&path).unwrap();
        for i in 0..100 {
            j.append(format!("record {i}").as_bytes()).unwrap();
        }
        let before = j.bytes();
        let keep: Vec<&[u8]> = vec![b"record 7", b"record 99"];
        j.rewrite(keep).unwrap();
        assert_eq!(j.records(), 2);
        assert!(j.bytes() < before);
        j.append(b"after compaction").unwrap();
        let (_, replay) = Journal::open(&path).unwrap();
        assert_eq!(
            replay.records,
            vec![
                b"record 7".to_vec(),
                b"record 99".to_vec(),
                b"after compaction".to_vec()
            ]
        );
        assert!(!path.with_extension("compact").exists());
    }

    #[test]
    fn a_foreign_file_is_refused_and_a_torn_header_is_repaired() {
        let path = temp("foreign");
        std::fs::write(&path, b"hello world, not a journal").unwrap();
        assert!(matches!(
            Journal::open(&path),
            Err(JournalError::NotAJournal(_))
        ));
        std::fs::write(&path, &MAGIC[..3]).unwrap();
        let (_, replay) = Journal::open(&path).unwrap();
        assert!(replay.records.is_empty());
        assert_eq!(std::fs::read(&path).unwrap(), MAGIC);
    }
}
