//! An append-only journal of records, durable once `append` returns.
//!
//! File layout: the 8-byte magic `CSJOURN1`, then records, each framed as
//! `[payload length: u32 LE][CRC-32 of the payload: u32 LE][payload]`.
//! `append` writes a whole frame with one `write` and then `fdatasync`s, so a
//! record that was acknowledged survives a crash (`kill -9`, power loss with
//! honest disks). If the sync fails, the frame is cut off again, so an
//! append that returned an error is not replayed at the next load.
//!
//! A crash in the middle of an append can only tear the *last* record;
//! [`Journal::open`] detects it (short frame or checksum mismatch), reports
//! it, copies the bytes aside for inspection (`<journal>.torn-<offset>`) and
//! truncates the file to the last good record, so the journal loads instead
//! of refusing to. A bad checksum *before* the last record is bit rot, not a
//! crash: when the frame's length is plausible and the record after it is
//! sound, only that record is skipped (reported with its offset, its bytes
//! copied to `<journal>.damaged-<offset>`) and every record after it is
//! kept; the journal is then rewritten without it. Damage the framing cannot
//! step over is treated like a torn tail.
//!
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
    /// A record was written but could not be synced to disk. The frame was
    /// cut off again unless `rollback` says that failed too (then the record
    /// may come back at the next load).
    SyncFailed {
        /// The file.
        path: PathBuf,
        /// What the sync reported.
        source: io::Error,
        /// Why cutting the frame off again failed, if it did.
        rollback: Option<io::Error>,
    },
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
            JournalError::SyncFailed {
                path,
                source,
                rollback: None,
            } => write!(
                f,
                "{}: cannot sync: {source}; the record was taken back out",
                path.display()
            ),
            JournalError::SyncFailed {
                path,
                source,
                rollback: Some(again),
            } => write!(
                f,
                "{}: cannot sync: {source}; taking the record back out failed too ({again}), so it may come back at the next load",
                path.display()
            ),
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

/// A damaged record before the last one, skipped while the records after it
/// were kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DamagedRecord {
    /// Offset of the record's frame in the file as it was found.
    pub offset: u64,
    /// Size of the whole frame.
    pub bytes: u64,
    /// Why it was rejected.
    pub why: String,
    /// Where its bytes were saved, if they could be.
    pub saved_to: Option<PathBuf>,
}

impl fmt::Display for DamagedRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "skipped a damaged record at byte {} ({} bytes: {}); the records after it were kept",
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
    /// Damaged records before the end that were stepped over.
    pub damaged: Vec<DamagedRecord>,
}

/// Makes the data of a file durable; a seam so tests can make it fail.
type SyncFn = fn(&File) -> io::Result<()>;

/// An open journal, positioned for appending.
#[derive(Debug)]
pub struct Journal {
    path: PathBuf,
    file: File,
    records: usize,
    bytes: u64,
    sync_data: SyncFn,
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

        let parsed = parse_frames(&data);
        let mut replay = Replay {
            records: parsed.records,
            torn: None,
            damaged: Vec::new(),
        };
        let good_end = parsed.good_end;
        if let Some(why) = parsed.tail_damage {
            let tail = &data[good_end..];
            let saved_to = save_aside(path, "torn", good_end as u64, tail);
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
        let mut journal = Journal {
            path: path.to_path_buf(),
            file,
            records: replay.records.len(),
            bytes: good_end as u64,
            sync_data: File::sync_data,
        };
        if !parsed.damaged.is_empty() {
            for (at, len, why) in parsed.damaged {
                let saved_to = save_aside(path, "damaged", at as u64, &data[at..at + len]);
                replay.damaged.push(DamagedRecord {
                    offset: at as u64,
                    bytes: len as u64,
                    why,
                    saved_to,
                });
            }
            // Rewrite without the damaged records, so the next load neither
            // warns again nor depends on stepping over them once more.
            journal.rewrite(replay.records.iter().map(Vec::as_slice))?;
        }
        Ok((journal, replay))
    }

    /// Appends one record and waits until it is on disk. On an error the
    /// file is cut back to where it was (see [`JournalError::SyncFailed`]),
    /// so the record is not replayed later.
    pub fn append(&mut self, payload: &[u8]) -> Result<(), JournalError> {
        if payload.len() > MAX_RECORD {
            return Err(JournalError::TooLarge(payload.len()));
        }
        let frame = frame(payload);
        if let Err(source) = self.file.write_all(&frame) {
            // A partial frame must not stay in front of the next append.
            let _ = self.roll_back();
            return Err(JournalError::Io {
                action: "append to",
                path: self.path.clone(),
                source,
            });
        }
        if let Err(source) = (self.sync_data)(&self.file) {
            // The caller answers "not recorded": make that true.
            let rollback = self.roll_back().err();
            return Err(JournalError::SyncFailed {
                path: self.path.clone(),
                source,
                rollback,
            });
        }
        self.records += 1;
        self.bytes += frame.len() as u64;
        Ok(())
    }

    /// Cuts the file back to the end of the last acknowledged record and
    /// puts the write position there. The cut is synced too, best effort (a
    /// sync that just failed may fail again; without a crash the cut file is
    /// what the next load reads either way).
    fn roll_back(&mut self) -> io::Result<()> {
        if let Err(e) = self.file.set_len(self.bytes) {
            // The bytes stay; append after them rather than leave a hole.
            let _ = self.file.seek(SeekFrom::End(0));
            return Err(e);
        }
        self.file.seek(SeekFrom::Start(self.bytes))?;
        let _ = (self.sync_data)(&self.file);
        Ok(())
    }

    /// Test seam: every sync from now on fails (`false` restores them).
    #[cfg(test)]
    pub(crate) fn fail_syncs(&mut self, fail: bool) {
        self.sync_data = if fail {
            |_| Err(io::Error::other("injected sync failure"))
        } else {
            File::sync_data
        };
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

/// What [`parse_frames`] found.
struct Parsed {
    /// Every good record, in order.
    records: Vec<Vec<u8>>,
    /// Where the last good frame ends (the file is cut there on tail damage).
    good_end: usize,
    /// Why the bytes from `good_end` on were rejected, if they were.
    tail_damage: Option<String>,
    /// Frames before the end that were stepped over: (offset, size, why).
    damaged: Vec<(usize, usize, String)>,
}

/// Why the frame at `at` is not a good record, or its total size if it is.
enum Frame {
    Good(usize),
    /// A plausible frame whose checksum does not match (its total size).
    BadChecksum(usize),
    /// Not even a frame that can be stepped over.
    Broken(String),
}

fn read_frame(data: &[u8], at: usize) -> Frame {
    let rest = &data[at..];
    if rest.len() < FRAME_HEADER {
        return Frame::Broken("incomplete record header".into());
    }
    let len = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
    let crc = u32::from_le_bytes([rest[4], rest[5], rest[6], rest[7]]);
    if len > MAX_RECORD {
        return Frame::Broken(format!("implausible length {len}"));
    }
    if rest.len() < FRAME_HEADER + len {
        return Frame::Broken(format!(
            "record of {len} bytes cut after {}",
            rest.len() - FRAME_HEADER
        ));
    }
    if crc32(&rest[FRAME_HEADER..FRAME_HEADER + len]) != crc {
        return Frame::BadChecksum(FRAME_HEADER + len);
    }
    Frame::Good(FRAME_HEADER + len)
}

/// Reads frames after the magic. A frame with a bad checksum is stepped over
/// when it is not the last one and the frame after it is good (its length
/// field is then very likely right); anything else ends the good part.
fn parse_frames(data: &[u8]) -> Parsed {
    let mut parsed = Parsed {
        records: Vec::new(),
        good_end: MAGIC.len(),
        tail_damage: None,
        damaged: Vec::new(),
    };
    let mut at = MAGIC.len();
    while at < data.len() {
        match read_frame(data, at) {
            Frame::Good(size) => {
                parsed
                    .records
                    .push(data[at + FRAME_HEADER..at + size].to_vec());
                at += size;
                parsed.good_end = at;
            }
            Frame::BadChecksum(size)
                if at + size < data.len()
                    && matches!(read_frame(data, at + size), Frame::Good(_)) =>
            {
                parsed
                    .damaged
                    .push((at, size, "checksum mismatch".to_string()));
                at += size;
            }
            Frame::BadChecksum(_) => {
                parsed.tail_damage = Some("checksum mismatch".into());
                break;
            }
            Frame::Broken(why) => {
                parsed.tail_damage = Some(why);
                break;
            }
        }
    }
    parsed
}

fn save_aside(path: &Path, what: &str, offset: u64, bytes: &[u8]) -> Option<PathBuf> {
    let aside = PathBuf::from(format!("{}.{what}-{offset}", path.display()));
    std::fs::write(&aside, bytes).ok().map(|_| aside)
}

/// Creates `dir` and any missing parents, then syncs the parent of every
/// directory it created, so that the new directories (and what is later
/// synced inside them) survive a crash. An existing `dir` costs one `stat`.
pub fn create_dir_durable(dir: &Path) -> io::Result<()> {
    create_dir_durable_with(dir, |parent| File::open(parent)?.sync_all())
}

fn create_dir_durable_with(
    dir: &Path,
    mut sync: impl FnMut(&Path) -> io::Result<()>,
) -> io::Result<()> {
    let mut missing = Vec::new();
    let mut at = dir;
    while !at.exists() {
        missing.push(at);
        match at.parent() {
            Some(parent) => at = parent,
            None => break,
        }
    }
    std::fs::create_dir_all(dir)?;
    // Top down: each new directory's entry in its parent.
    for created in missing.iter().rev() {
        let parent = created
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        sync(parent)?;
    }
    Ok(())
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

    /// Offsets of the frames of `records` appended in order to a new journal.
    fn frame_offsets(records: &[&[u8]]) -> Vec<usize> {
        let mut at = MAGIC.len();
        records
            .iter()
            .map(|r| {
                let here = at;
                at += FRAME_HEADER + r.len();
                here
            })
            .collect()
    }

    #[test]
    fn a_damaged_record_in_the_middle_costs_only_that_record() {
        let path = temp("middle");
        let records: [&[u8]; 5] = [b"one", b"two", b"three", b"four", b"five"];
        {
            let (mut j, _) = Journal::open(&path).unwrap();
            for r in records {
                j.append(r).unwrap();
            }
        }
        let offsets = frame_offsets(&records);
        let mut bytes = std::fs::read(&path).unwrap();
        let original = bytes.clone();
        // Bit rot in the payload of the second record.
        bytes[offsets[1] + FRAME_HEADER + 1] ^= 0x20;
        std::fs::write(&path, &bytes).unwrap();

        let (mut j, replay) = Journal::open(&path).unwrap();
        assert_eq!(
            replay.records,
            vec![
                b"one".to_vec(),
                b"three".to_vec(),
                b"four".to_vec(),
                b"five".to_vec()
            ]
        );
        assert!(replay.torn.is_none(), "{:?}", replay.torn);
        assert_eq!(replay.damaged.len(), 1);
        let damaged = &replay.damaged[0];
        assert_eq!(damaged.offset as usize, offsets[1]);
        assert_eq!(damaged.bytes as usize, FRAME_HEADER + 3);
        assert!(
            damaged
                .to_string()
                .starts_with(&format!("skipped a damaged record at byte {}", offsets[1])),
            "{damaged}"
        );
        let saved = std::fs::read(damaged.saved_to.as_ref().unwrap()).unwrap();
        assert_eq!(saved, &bytes[offsets[1]..offsets[2]]);
        assert_ne!(saved, &original[offsets[1]..offsets[2]]);

        // The journal was rewritten without it: the next load is clean and
        // new records follow the kept ones.
        j.append(b"six").unwrap();
        let (_, again) = Journal::open(&path).unwrap();
        assert!(again.damaged.is_empty() && again.torn.is_none());
        assert_eq!(again.records.len(), 5);
        assert_eq!(again.records[4], b"six");
    }

    #[test]
    fn damage_the_framing_cannot_step_over_goes_aside_like_a_torn_tail() {
        let path = temp("middle-length");
        let records: [&[u8]; 3] = [b"first", b"second record", b"third record"];
        {
            let (mut j, _) = Journal::open(&path).unwrap();
            for r in records {
                j.append(r).unwrap();
            }
        }
        let offsets = frame_offsets(&records);
        let mut bytes = std::fs::read(&path).unwrap();
        // A wrong (but plausible) length: the frame after it does not line up.
        bytes[offsets[1]] ^= 0x04;
        std::fs::write(&path, &bytes).unwrap();
        let (_, replay) = Journal::open(&path).unwrap();
        assert_eq!(replay.records, vec![b"first".to_vec()]);
        assert!(replay.damaged.is_empty());
        let torn = replay.torn.expect("the rest goes aside");
        assert_eq!(torn.offset as usize, offsets[1]);
        assert_eq!(
            std::fs::read(torn.saved_to.unwrap()).unwrap(),
            &bytes[offsets[1]..]
        );
    }

    #[test]
    fn an_append_whose_sync_fails_is_taken_back_out() {
        let path = temp("syncfail");
        let (mut j, _) = Journal::open(&path).unwrap();
        j.append(b"kept").unwrap();
        let size = std::fs::metadata(&path).unwrap().len();
        j.fail_syncs(true);
        let err = j.append(b"refused").unwrap_err();
        assert!(
            matches!(err, JournalError::SyncFailed { rollback: None, .. }),
            "{err:?}"
        );
        assert!(
            err.to_string().contains("the record was taken back out"),
            "{err}"
        );
        assert_eq!(std::fs::metadata(&path).unwrap().len(), size);
        assert_eq!((j.records(), j.bytes()), (1, size));
        j.fail_syncs(false);
        j.append(b"later").unwrap();
        let (_, replay) = Journal::open(&path).unwrap();
        assert_eq!(replay.records, vec![b"kept".to_vec(), b"later".to_vec()]);
        assert!(replay.torn.is_none() && replay.damaged.is_empty());
    }

    #[test]
    fn new_directories_are_synced_into_their_parents() {
        let base = temp("mkdir").parent().unwrap().to_path_buf();
        let dir = base.join("db").join("callscreen");
        let mut synced = Vec::new();
        create_dir_durable_with(&dir, |p| {
            synced.push(p.to_path_buf());
            Ok(())
        })
        .unwrap();
        assert!(dir.is_dir());
        assert_eq!(synced, vec![base.clone(), base.join("db")]);
        // An existing directory: nothing to sync.
        synced.clear();
        create_dir_durable_with(&dir, |p| {
            synced.push(p.to_path_buf());
            Ok(())
        })
        .unwrap();
        assert!(synced.is_empty(), "{synced:?}");
        // A failed sync is reported, not ignored.
        let other = base.join("other");
        let err =
            create_dir_durable_with(&other, |_| Err(io::Error::other("no sync"))).unwrap_err();
        assert_eq!(err.to_string(), "no sync");
        // The real thing.
        create_dir_durable(&base.join("real").join("state")).unwrap();
        assert!(base.join("real/state").is_dir());
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
