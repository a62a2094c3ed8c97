//! `registries.journal`: the credential changes of a big store since `registries.toml` was
//! last written whole, so that a write at 10,000 credentials appends a few hundred bytes
//! instead of rewriting 2.3 MB.
//!
//! One line per entry, `CRC32 JSON` and a newline, the CRC32 (8 lower-case hex digits) taken
//! over the JSON. The first line is the [`Header`]: the journal applies only to a
//! `registries.toml` whose `journal = G` and `store_id` are the header's, so a journal left
//! behind by an interrupted compaction (which writes `registries.toml` with the next
//! generation before it removes the journal) is never replayed. Every other line is a
//! [`Record`]: what one transaction did, as whole credentials and removed ids, so replaying
//! needs nothing but the record.
//!
//! A crash can only tear the end: a last line without its newline or with a wrong checksum
//! is a write that never returned, ignored by readers and cut off by the next writer before
//! it appends. A damaged line followed by a whole one is damage, not a crash, and refused.

use std::fs::File;
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Credential, Registries};
use crate::vault::fs::{self as vault_fs, FsError};

pub(crate) const JOURNAL_FILE: &str = "registries.journal";

/// A store of this many credentials or more keeps a journal. Below it every change rewrites
/// `registries.toml` whole, as it always did, so that a store committed to a repository
/// (PRODUCT.md section 8) stays one file that a reviewer reads.
pub const JOURNAL_FROM: usize = 1_000;

/// The journal is folded into `registries.toml` (written whole, with the next generation)
/// by the write that finds it holding this many records: every reader replays it, so it is
/// kept short.
pub const MAX_RECORDS: usize = 256;

/// The first line: which `registries.toml` the records apply to.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    generation: u64,
    store_id: String,
    /// The bytes of a `registries.toml` that regcred wrote in its scanner's subset, or that
    /// the scanner read whole and found good, when this journal was started (schema version
    /// 4): a reading of a file that still holds exactly them need not check again the
    /// credentials it skips.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    base: Option<Sum>,
}

/// The length and CRC32 of a `registries.toml`'s bytes. Not a defence against the user,
/// who owns both files: a check that the file is the one whose every line was found good,
/// so that a hand edit (which changes the sum) is read as carefully as ever.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sum {
    len: u64,
    crc32: u32,
}

impl Sum {
    pub fn of(bytes: &[u8]) -> Sum {
        Sum { len: bytes.len() as u64, crc32: crc32fast::hash(bytes) }
    }

    /// Whether `bytes` are those this sum was taken of; the CRC is computed only when the
    /// lengths agree.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        self.len == bytes.len() as u64 && self.crc32 == crc32fast::hash(bytes)
    }
}

/// What one transaction did to the credentials: each added or changed credential whole,
/// each removed one by id, and the counters after it. Applying a record twice changes
/// nothing more than applying it once.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub next_id: u64,
    pub next_sequence: u64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub put: Vec<Credential>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub delete: Vec<u64>,
}

/// A journal as read: the generation it belongs to and its whole records.
#[derive(Debug, Clone)]
pub struct Journal {
    pub generation: u64,
    pub store_id: String,
    /// The sum of the `registries.toml` it was started on (see [`Header`]).
    pub base: Option<Sum>,
    /// Its records (taken out when they are applied).
    pub records: Vec<Record>,
    /// How many whole records it holds.
    pub count: usize,
    /// Bytes of the header and the whole records: where the next record goes. Whatever
    /// follows is a torn write.
    pub end: u64,
    /// The length of the file when read.
    pub len: u64,
}

impl Journal {
    /// Whether it holds the changes of `registries` (same store, same generation).
    pub fn belongs_to(&self, registries: &Registries) -> bool {
        registries.journal == Some(self.generation) && self.store_id == registries.store_id
    }
}

/// Reads a journal's bytes. `Ok(None)`: no whole header, so no record was ever committed
/// in it. `Err`: a line says why the journal cannot be used.
pub fn parse(bytes: &[u8]) -> Result<Option<Journal>, String> {
    let mut at = 0;
    let mut header: Option<Header> = None;
    let mut records = Vec::new();
    let mut number = 0;
    while at < bytes.len() {
        number += 1;
        let line = match memchr::memchr(b'\n', &bytes[at..]) {
            Some(n) => checked(&bytes[at..at + n]),
            None => None,
        };
        let Some(json) = line else {
            // Torn, unless a whole line follows: then it is damage.
            let rest = &bytes[at..];
            if rest.split(|&b| b == b'\n').skip(1).any(|l| checked(l).is_some()) {
                return Err(format!("line {number} is damaged (its checksum does not match)"));
            }
            break;
        };
        match &header {
            None => {
                header = Some(serde_json::from_slice(json).map_err(|e| format!("line {number}: {e}"))?);
            }
            Some(_) => records.push(serde_json::from_slice(json).map_err(|e| format!("line {number}: {e}"))?),
        }
        at += json.len() + CHECKSUM_LEN + 1;
    }
    let len = bytes.len() as u64;
    Ok(header.map(|h| Journal {
        generation: h.generation,
        store_id: h.store_id,
        base: h.base,
        count: records.len(),
        records,
        end: at as u64,
        len,
    }))
}

/// `CRC32 ` before the JSON.
const CHECKSUM_LEN: usize = 9;

/// The JSON of a whole line whose checksum matches.
fn checked(line: &[u8]) -> Option<&[u8]> {
    let (sum, json) = line.split_at_checked(CHECKSUM_LEN)?;
    let (hex, space) = sum.split_at(8);
    if space != b" " || !hex.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b)) {
        return None;
    }
    let sum = u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
    (crc32fast::hash(json) == sum).then_some(json)
}

/// One line: checksum, JSON, newline.
fn line(json: &[u8]) -> Vec<u8> {
    let mut out = format!("{:08x} ", crc32fast::hash(json)).into_bytes();
    out.extend_from_slice(json);
    out.push(b'\n');
    out
}

fn json_line(value: &impl Serialize) -> Result<Vec<u8>, serde_json::Error> {
    Ok(line(&serde_json::to_vec(value)?))
}

impl Record {
    /// Applies this record to `registries`. A credential not there yet is added only when
    /// `keep` wants it (a partial reading holds only the credentials it needs).
    pub fn apply(&self, registries: &mut Registries, keep: &dyn Fn(&Credential) -> bool) {
        for credential in &self.put {
            match position(&registries.credentials, credential.id) {
                Some(i) => registries.credentials[i] = credential.clone(),
                None if keep(credential) => registries.credentials.push(credential.clone()),
                None => {}
            }
        }
        if !self.delete.is_empty() {
            registries.credentials.retain(|c| !self.delete.contains(&c.id));
        }
        registries.next_id = registries.next_id.max(self.next_id);
        registries.next_sequence = registries.next_sequence.max(self.next_sequence);
    }
}

/// Where credential `id` is: ids ascend in a store regcred wrote (a binary search), else
/// (edited by hand) the search falls back to looking at each.
fn position(credentials: &[Credential], id: u64) -> Option<usize> {
    match credentials.binary_search_by_key(&id, |c| c.id) {
        Ok(i) => Some(i),
        Err(_) => credentials.iter().position(|c| c.id == id),
    }
}

/// Appends `record` to the journal at `path`: after the whole records of `existing` (a torn
/// tail is cut off first), or in a new journal of `registries`' generation when `existing`
/// is `None` (any file there is a stale journal and is replaced), whose header carries
/// `base`, the sum of the `registries.toml` this transaction read and found good. Flushed
/// before it returns; returns the journal as it is now (without its records).
pub fn append(
    path: &Path,
    registries: &Registries,
    existing: Option<Journal>,
    base: Option<Sum>,
    record: &Record,
) -> Result<Journal, FsError> {
    write(path, registries, existing, base, Some(record))
}

/// Starts a journal without records for the `registries.toml` just written whole, whose
/// bytes have the sum `base` (when it may vouch for them): the readings after it know that
/// file to be regcred's own.
pub fn start(path: &Path, registries: &Registries, base: Option<Sum>) -> Result<(), FsError> {
    write(path, registries, None, base, None).map(|_| ())
}

fn write(
    path: &Path,
    registries: &Registries,
    existing: Option<Journal>,
    base: Option<Sum>,
    record: Option<&Record>,
) -> Result<Journal, FsError> {
    let fail = |action: &'static str| move |e: std::io::Error| FsError::io(action, path, e);
    let generation = registries.journal.unwrap_or_default();
    // Serialized before any file is touched.
    let unserializable = |e: serde_json::Error| FsError::io("cannot write", path, e.into());
    let (mut bytes, base) = match &existing {
        Some(journal) => (Vec::new(), journal.base),
        None => {
            let header = Header { generation, store_id: registries.store_id.clone(), base };
            (json_line(&header).map_err(unserializable)?, base)
        }
    };
    if let Some(record) = record {
        bytes.extend(json_line(record).map_err(unserializable)?);
    }
    let mut file = match &existing {
        Some(journal) => {
            let mut file = open_ours(path)?;
            if journal.len != journal.end {
                file.set_len(journal.end).map_err(fail("cannot cut the torn end of"))?;
            }
            file.seek(SeekFrom::Start(journal.end)).map_err(fail("cannot write"))?;
            file
        }
        None => {
            remove(path)?;
            vault_fs::open_or_create_ours(path, 0o600)?
        }
    };
    file.write_all(&bytes).map_err(fail("cannot write"))?;
    file.sync_data().map_err(fail("cannot flush"))?;
    let (start, count) = match &existing {
        Some(journal) => (journal.end, journal.count),
        None => {
            vault_fs::sync_dir_of(path);
            (0, 0)
        }
    };
    let end = start + bytes.len() as u64;
    Ok(Journal {
        generation,
        store_id: registries.store_id.clone(),
        base,
        records: Vec::new(),
        count: count + usize::from(record.is_some()),
        end,
        len: end,
    })
}

/// The generation of the journal in `bytes`, from its header alone.
pub fn generation_of(bytes: &[u8]) -> Option<u64> {
    let first = &bytes[..memchr::memchr(b'\n', bytes)?];
    serde_json::from_slice::<Header>(checked(first)?).ok().map(|h| h.generation)
}

/// Opens the journal for appending: a regular file of ours, never through a link.
fn open_ours(path: &Path) -> Result<File, FsError> {
    let file = vault_fs::open_no_follow(path, true).map_err(|e| FsError::io("cannot open", path, e))?;
    let metadata = file.metadata().map_err(|e| FsError::io("cannot read", path, e))?;
    vault_fs::check_regular(path, &metadata)?;
    vault_fs::check_owner(path, &metadata)?;
    Ok(file)
}

/// Removes the journal (folded into `registries.toml`, or stale); durable before it returns.
pub fn remove(path: &Path) -> Result<(), FsError> {
    match std::fs::remove_file(path) {
        Ok(()) => {
            vault_fs::sync_dir_of(path);
            Ok(())
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(FsError::io("cannot remove", path, e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn credential(id: u64, address: &str) -> Credential {
        Credential::for_test(id, "default", address)
    }

    fn journal_text(records: &[Record]) -> Vec<u8> {
        let mut out = json_line(&Header { generation: 4, store_id: "s".into(), base: None }).unwrap();
        for record in records {
            out.extend(json_line(record).unwrap());
        }
        out
    }

    fn put(id: u64) -> Record {
        Record { next_id: id + 1, next_sequence: id + 1, put: vec![credential(id, "quay.io")], delete: vec![] }
    }

    #[test]
    fn whole_records_are_read_and_a_torn_last_line_is_ignored() {
        let whole = journal_text(&[put(1), put(2)]);
        let journal = parse(&whole).unwrap().unwrap();
        assert_eq!((journal.generation, journal.records.len(), journal.end), (4, 2, whole.len() as u64));
        // Every cut inside the last record leaves the first one and nothing of the second.
        let first_end = journal_text(&[put(1)]).len();
        for cut in first_end + 1..whole.len() {
            let journal = parse(&whole[..cut]).unwrap().unwrap();
            assert_eq!(journal.records.len(), 1, "cut at {cut}");
            assert_eq!(journal.end, first_end as u64);
            assert_eq!(journal.len, cut as u64);
        }
        // A torn header: nothing was ever committed.
        assert!(parse(&whole[..10]).unwrap().is_none());
        assert!(parse(b"").unwrap().is_none());
    }

    #[test]
    fn a_changed_byte_in_the_last_record_is_torn_and_in_an_earlier_one_is_damage() {
        let whole = journal_text(&[put(1), put(2)]);
        let last = whole.len() - 5;
        let mut torn = whole.clone();
        torn[last] ^= 1;
        assert_eq!(parse(&torn).unwrap().unwrap().records.len(), 1);
        let mut damaged = whole.clone();
        let in_first = journal_text(&[]).len() + 20;
        damaged[in_first] ^= 1;
        let error = parse(&damaged).unwrap_err();
        assert!(error.contains("line 2 is damaged"), "{error}");
    }

    #[test]
    fn a_whole_line_that_is_not_a_record_is_refused() {
        let mut text = journal_text(&[]);
        text.extend(line(br#"{"next_id":1}"#));
        let error = parse(&text).unwrap_err();
        assert!(error.starts_with("line 2: missing field"), "{error}");
    }

    #[test]
    fn applying_records_twice_is_applying_them_once() {
        let mut base = Registries::fresh();
        base.credentials = (1..=3).map(|id| credential(id, "quay.io")).collect();
        base.next_id = 4;
        base.next_sequence = 4;
        let mut edited = credential(2, "quay.io");
        edited.username = "changed".into();
        let records = [
            put(4),
            Record { next_id: 5, next_sequence: 5, put: vec![edited], delete: vec![] },
            Record { next_id: 5, next_sequence: 5, put: vec![], delete: vec![4, 1] },
            put(5),
        ];
        let once = |mut r: Registries| {
            for record in &records {
                record.apply(&mut r, &|_| true);
            }
            r
        };
        let shown = |r: &Registries| format!("{:?} {} {}", r.credentials, r.next_id, r.next_sequence);
        let applied = once(base.clone());
        assert_eq!(applied.credentials.iter().map(|c| c.id).collect::<Vec<_>>(), [2, 3, 5]);
        assert_eq!(applied.credentials[0].username, "changed");
        assert_eq!((applied.next_id, applied.next_sequence), (6, 6));
        assert_eq!(shown(&once(applied.clone())), shown(&applied));
    }

    #[test]
    fn a_partial_reading_takes_only_the_new_credentials_it_wants() {
        let mut base = Registries::fresh();
        base.credentials = vec![credential(1, "quay.io")];
        let record = Record {
            next_id: 4,
            next_sequence: 4,
            put: vec![credential(1, "quay.io"), credential(2, "ghcr.io"), credential(3, "quay.io")],
            delete: vec![],
        };
        record.apply(&mut base, &|c| c.address == "quay.io");
        assert_eq!(base.credentials.iter().map(|c| c.id).collect::<Vec<_>>(), [1, 3]);
    }

    #[test]
    fn appending_cuts_a_torn_end_and_a_new_journal_replaces_a_stale_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(JOURNAL_FILE);
        let mut registries = Registries::fresh();
        registries.journal = Some(7);
        let appended = append(&path, &registries, None, None, &put(1)).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(b"0123abcd {\"next_id\":");
        std::fs::write(&path, &bytes).unwrap();
        let journal = parse(&bytes).unwrap().unwrap();
        assert!(journal.belongs_to(&registries));
        assert_eq!((appended.end, appended.count), (journal.end, 1));
        let appended = append(&path, &registries, Some(journal), None, &put(2)).unwrap();
        let journal = parse(&std::fs::read(&path).unwrap()).unwrap().unwrap();
        assert_eq!((appended.end, appended.len, appended.count), (journal.end, journal.len, 2));
        assert_eq!(journal.records.iter().map(|r| r.put[0].id).collect::<Vec<_>>(), [1, 2]);
        assert_eq!(journal.end, journal.len);
        // The next generation starts a new journal.
        registries.journal = Some(8);
        assert!(!journal.belongs_to(&registries));
        append(&path, &registries, None, None, &put(3)).unwrap();
        let journal = parse(&std::fs::read(&path).unwrap()).unwrap().unwrap();
        assert_eq!((journal.generation, journal.records.len()), (8, 1));
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
    }

    #[test]
    fn a_journal_belongs_only_to_its_store_and_generation() {
        let mut registries = Registries::fresh();
        registries.journal = Some(4);
        let journal = Journal {
            generation: 4,
            store_id: registries.store_id.clone(),
            base: None,
            records: Vec::new(),
            count: 0,
            end: 0,
            len: 0,
        };
        assert!(journal.belongs_to(&registries));
        let other_store = Journal { store_id: format!("{}x", registries.store_id), ..journal.clone() };
        assert!(!other_store.belongs_to(&registries), "another store's journal of the same generation");
        registries.journal = Some(5);
        assert!(!journal.belongs_to(&registries), "the same store's older generation");
        registries.journal = None;
        assert!(!journal.belongs_to(&registries), "a store that keeps no journal");
    }

    #[test]
    fn the_generation_on_disk_is_read_from_a_whole_header_alone() {
        // A whole write starts the next generation past the journal on disk, which may be
        // newer than the store's own (a big store that shrank and left one behind).
        let mut text = journal_text(&[put(1)]);
        assert_eq!(generation_of(&text), Some(4));
        let header = Header { generation: 9, store_id: "s".into(), base: Some(Sum::of(b"x")) };
        assert_eq!(generation_of(&json_line(&header).unwrap()), Some(9), "a header alone, with its sum");
        // Records after it are not read: a damaged one does not hide the generation.
        let end = text.len();
        text[end - 3] ^= 1;
        assert_eq!(generation_of(&text), Some(4));
        // No whole header: a torn one (no newline) or one whose checksum does not match.
        let first = text.iter().position(|&b| b == b'\n').unwrap();
        assert_eq!(generation_of(&text[..first]), None);
        text[first - 2] ^= 1;
        assert_eq!(generation_of(&text), None);
        assert_eq!(generation_of(b""), None);
    }

    #[test]
    fn a_line_is_whole_only_with_eight_lower_case_hex_digits_a_space_and_its_checksum() {
        let json = br#"{"next_id":1,"next_sequence":1}"#;
        let good = line(json);
        assert_eq!(checked(&good[..good.len() - 1]), Some(&json[..]));
        let sum = format!("{:08x}", crc32fast::hash(json));
        let with = |prefix: String| {
            let mut out = prefix.into_bytes();
            out.extend_from_slice(json);
            out
        };
        // The right checksum, but another separator, upper case, a sign or too few digits.
        assert_eq!(checked(&with(format!("{sum}_"))), None, "no space");
        assert_eq!(checked(&with(format!("{sum}  "))), None, "two spaces");
        assert_eq!(checked(&with(format!("{} ", sum.to_uppercase()))), None, "upper case");
        assert_eq!(checked(&with(format!("+{} ", &sum[1..]))), None, "a sign");
        assert_eq!(checked(&with(format!("{} ", &sum[1..]))), None, "seven digits");
        assert_eq!(checked(b"0123abc"), None, "shorter than a checksum");
        // A line of another checksum.
        let wrong = crc32fast::hash(json) ^ 1;
        assert_eq!(checked(&with(format!("{wrong:08x} "))), None);
    }

    #[test]
    fn appending_cuts_a_torn_end_longer_than_the_new_record() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(JOURNAL_FILE);
        let mut registries = Registries::fresh();
        registries.journal = Some(2);
        append(&path, &registries, None, None, &put(1)).unwrap();
        // A big record torn before its newline, much longer than the one appended next.
        let big = Record {
            next_id: 60,
            next_sequence: 60,
            put: (10..60).map(|id| credential(id, "quay.io")).collect(),
            delete: vec![],
        };
        let torn = json_line(&big).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        bytes.extend_from_slice(&torn[..torn.len() - 1]);
        std::fs::write(&path, &bytes).unwrap();
        let journal = parse(&bytes).unwrap().unwrap();
        assert!(journal.len - journal.end > json_line(&put(2)).unwrap().len() as u64);
        let appended = append(&path, &registries, Some(journal), None, &put(2)).unwrap();
        let written = std::fs::read(&path).unwrap();
        let journal = parse(&written).unwrap().unwrap();
        assert_eq!(journal.records.iter().map(|r| r.put[0].id).collect::<Vec<_>>(), [1, 2]);
        assert_eq!((journal.end, journal.len), (written.len() as u64, written.len() as u64), "nothing torn is left");
        assert_eq!((appended.end, appended.count), (journal.end, 2));
    }

    #[test]
    fn removing_a_journal_that_is_not_there_is_done_and_one_that_cannot_go_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(JOURNAL_FILE);
        remove(&path).unwrap();
        std::fs::write(&path, b"x").unwrap();
        remove(&path).unwrap();
        assert!(!path.exists());
        // A directory where the journal goes is not removed, and says so.
        std::fs::create_dir(&path).unwrap();
        assert!(remove(&path).is_err());
        assert!(path.is_dir());
    }

    #[test]
    fn a_store_edited_out_of_id_order_still_has_its_credentials_replaced() {
        let mut registries = Registries::fresh();
        registries.credentials = [3, 1, 2].into_iter().map(|id| credential(id, "quay.io")).collect();
        let mut edited = credential(3, "ghcr.io");
        edited.username = "changed".into();
        Record { next_id: 4, next_sequence: 4, put: vec![edited], delete: vec![] }.apply(&mut registries, &|_| true);
        let shown: Vec<_> = registries.credentials.iter().map(|c| (c.id, c.address.as_str())).collect();
        assert_eq!(shown, [(3, "ghcr.io"), (1, "quay.io"), (2, "quay.io")]);
    }
}
