//! The `file` secret store: `<config-dir>/secrets.toml`, plain text, mode 0600, chosen
//! only explicitly. Reading and replacing the file go through [`PrivateFile`].

use std::fmt::Write;
use std::path::Path;
use std::sync::{Mutex, PoisonError};

use zeroize::{Zeroize, Zeroizing};

use super::{Secret, SecretError, SecretKey, SecretStore, SecretStoreKind};
use crate::vault::Warning;
use crate::vault::Warnings;
use crate::vault::fs::{PrivateFile, line_column};

mod scan;

pub(crate) const FILE_NAME: &str = "secrets.toml";
const FILE_VERSION: i64 = 1;
/// The comment every written file starts with.
const HEADER: &str = "\
# regcred secrets: plain text, chosen with `--secret-store file`.
# Keep this file private (mode 0600). Each [secret.ID] belongs to credential ID.
";

/// `<config-dir>/secrets.toml`: plain text, mode 0600, one table per credential id.
///
/// ```toml
/// version = 1
///
/// [secret.3]
/// store = "…"          # the config dir's store id
/// environment = "default"
/// address = "docker.io"
/// username = "bob"
/// secret = "…"
/// ```
///
/// The caller holds the config dir's exclusive lock around every read-modify-write, so
/// this type does no locking of its own.
///
/// Reads (`get`, `ids`) read the file once per `FileStore` and answer from that snapshot,
/// as if all of them happened at the first: a command that reads many secrets reads the
/// file once. A write (`set`, `delete`) always reads the file afresh, under the lock, and
/// drops the snapshot.
///
/// A file in the form regcred writes is not parsed whole: [`scan::index`] checks it and
/// finds each table, a read parses one table, and a change of one secret cuts, replaces
/// or appends that one table's text. Anything else goes through the `toml` crate whole.
pub(super) struct FileStore {
    file: PrivateFile,
    warnings: Warnings,
    snapshot: Mutex<Option<Loaded>>,
}

/// One credential's secret as kept in the file; wiped when dropped.
#[derive(Zeroize, zeroize::ZeroizeOnDrop)]
pub(super) struct FileEntry {
    store: String,
    environment: String,
    address: String,
    username: String,
    secret: String,
}

/// The parsed file, by credential id.
#[derive(Default)]
pub(super) struct FileSecrets {
    entries: std::collections::BTreeMap<u64, FileEntry>,
}

/// The file as read.
enum Loaded {
    /// In the form regcred writes: its text (wiped when dropped) and where each table is.
    Indexed { text: Zeroizing<String>, tables: scan::Tables },
    /// Anything else `toml` reads.
    Parsed(FileSecrets),
}

impl Loaded {
    /// The entry of credential `id`, if the file has one.
    fn entry(&self, id: u64) -> Option<FileEntry> {
        match self {
            Loaded::Indexed { text, tables } => tables.get(&id).and_then(|span| scan::entry(text, span.clone())),
            Loaded::Parsed(secrets) => secrets.entries.get(&id).map(|e| FileEntry {
                store: e.store.clone(),
                environment: e.environment.clone(),
                address: e.address.clone(),
                username: e.username.clone(),
                secret: e.secret.clone(),
            }),
        }
    }

    fn into_secrets(self) -> FileSecrets {
        match self {
            Loaded::Indexed { text, .. } => scan::parse(&text).unwrap_or_default(),
            Loaded::Parsed(secrets) => secrets,
        }
    }
}

impl FileStore {
    pub(super) fn new(config_dir: &Path, warnings: Warnings) -> Self {
        FileStore { file: PrivateFile::new(config_dir.join(FILE_NAME)), warnings, snapshot: Mutex::new(None) }
    }

    /// `f` over the file as first read by this store (see the type's comment).
    fn read_snapshot<T>(&self, f: impl FnOnce(&Loaded) -> T) -> Result<T, SecretError> {
        let mut guard = self.snapshot.lock().unwrap_or_else(PoisonError::into_inner);
        let loaded = match guard.take() {
            Some(loaded) => guard.insert(loaded),
            None => guard.insert(self.load()?),
        };
        Ok(f(loaded))
    }

    fn forget_snapshot(&self) {
        *self.snapshot.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    fn path(&self) -> &Path {
        self.file.path()
    }

    /// Reads the file and checks it whole; a missing file holds no secrets.
    fn load(&self) -> Result<Loaded, SecretError> {
        let Some(mut contents) = self.file.read().map_err(SecretError::from)? else {
            return Ok(Loaded::Parsed(FileSecrets::default()));
        };
        if contents.mode & 0o044 != 0 {
            self.warnings.push(Warning::ReadableByOthers { path: self.path().to_owned(), mode: contents.mode });
        }
        // The buffer moves into the text (no copy); either way it is wiped when dropped.
        let text = match String::from_utf8(std::mem::take(&mut *contents.bytes)) {
            Ok(text) => Zeroizing::new(text),
            Err(err) => {
                let valid = err.utf8_error().valid_up_to();
                let bytes = Zeroizing::new(err.into_bytes());
                let (line, column) = line_column(&bytes[..valid], valid);
                return Err(self.corrupt(line, column, "the file is not valid UTF-8 text"));
            }
        };
        if let Some(tables) = scan::index(&text) {
            return Ok(Loaded::Indexed { text, tables });
        }
        parse_file_with_toml(&text)
            .map_err(|(offset, message)| {
                let (line, column) = line_column(text.as_bytes(), offset);
                self.corrupt(line, column, message)
            })
            .and_then(|parsed| match parsed {
                Parsed::Secrets(secrets) => Ok(Loaded::Parsed(secrets)),
                Parsed::TooNew(found) => Err(SecretError::FileVersionTooNew { path: self.path().to_owned(), found }),
            })
    }

    fn corrupt(&self, line: usize, column: usize, message: impl Into<String>) -> SecretError {
        SecretError::FileCorrupt { path: self.path().to_owned(), line, column, message: message.into() }
    }

    /// Replaces the file atomically (see [`PrivateFile::replace`]).
    fn save(&self, secrets: &FileSecrets) -> Result<(), SecretError> {
        let text = render_file(secrets);
        self.write(&text)
    }

    fn write(&self, text: &str) -> Result<(), SecretError> {
        self.file.replace(text.as_bytes()).map_err(SecretError::from)
    }
}

/// `text` with `span` replaced by `with`, in one buffer that is wiped when dropped. A
/// table cut from the end takes the blank line before it along.
fn splice(text: &str, span: std::ops::Range<usize>, with: &str) -> Zeroizing<String> {
    let mut before = &text[..span.start];
    let after = &text[span.end..];
    if with.is_empty() && after.is_empty() {
        before = before.strip_suffix('\n').filter(|b| b.ends_with('\n')).unwrap_or(before);
    }
    let mut out = Zeroizing::new(String::with_capacity(before.len() + with.len() + after.len() + 2));
    out.push_str(before);
    out.push_str(with);
    if !with.is_empty() && !after.is_empty() {
        out.push('\n');
    }
    out.push_str(after);
    out
}

impl SecretStore for FileStore {
    fn kind(&self) -> SecretStoreKind {
        SecretStoreKind::File
    }

    fn location(&self) -> String {
        self.path().display().to_string()
    }

    /// Stricter than a read: doctor also reports a file other users may read.
    fn check(&self) -> Result<(), SecretError> {
        self.load()?;
        match self.file.read().map_err(SecretError::from)? {
            Some(contents) if contents.mode & 0o077 != 0 => {
                Err(SecretError::InsecurePermissions { path: self.path().to_owned(), mode: contents.mode })
            }
            _ => Ok(()),
        }
    }

    /// One secret in a file in regcred's form: only its table is written anew.
    fn set(&self, key: &SecretKey<'_>, secret: &Secret) -> Result<(), SecretError> {
        self.forget_snapshot();
        let loaded = self.load()?;
        let Loaded::Indexed { text, tables } = &loaded else {
            return self.set_in(loaded, &[(*key, secret)]);
        };
        if text.is_empty() {
            return self.set_in(loaded, &[(*key, secret)]);
        }
        let table = render_table(key.id, [key.store_id, key.environment, key.address, key.username, secret.expose()]);
        let out = match tables.get(&key.id) {
            Some(span) => splice(text, span.clone(), &table),
            None => {
                let mut out = Zeroizing::new(String::with_capacity(text.len() + table.len() + 2));
                out.push_str(text);
                if !text.ends_with('\n') {
                    out.push('\n');
                }
                out.push('\n');
                out.push_str(&table);
                out
            }
        };
        self.write(&out)
    }

    /// One read and one atomic rewrite of the file, however many secrets.
    fn set_many(&self, items: &[(SecretKey<'_>, &Secret)]) -> Result<(), SecretError> {
        self.forget_snapshot();
        let loaded = self.load()?;
        self.set_in(loaded, items)
    }

    fn get(&self, key: &SecretKey<'_>) -> Result<Option<Secret>, SecretError> {
        self.read_snapshot(|loaded| {
            loaded
                .entry(key.id)
                .filter(|entry| entry.store == key.store_id)
                .map(|entry| Secret::new(entry.secret.clone()))
        })
    }

    fn delete(&self, key: &SecretKey<'_>) -> Result<bool, SecretError> {
        self.forget_snapshot();
        let loaded = self.load()?;
        let ours = loaded.entry(key.id).is_some_and(|entry| entry.store == key.store_id);
        if !ours {
            return Ok(false);
        }
        match &loaded {
            Loaded::Indexed { text, tables } if tables.len() > 1 => {
                let span = tables.get(&key.id).cloned().unwrap_or(0..0);
                self.write(&splice(text, span, ""))?;
            }
            _ => {
                let mut secrets = loaded.into_secrets();
                secrets.entries.remove(&key.id);
                self.save(&secrets)?;
            }
        }
        Ok(true)
    }

    fn ids(&self, store_id: &str) -> Result<Vec<u64>, SecretError> {
        self.read_snapshot(|loaded| match loaded {
            Loaded::Indexed { tables, .. } => {
                tables.keys().copied().filter(|id| loaded.entry(*id).is_some_and(|e| e.store == store_id)).collect()
            }
            Loaded::Parsed(secrets) => {
                secrets.entries.iter().filter(|(_, entry)| entry.store == store_id).map(|(id, _)| *id).collect()
            }
        })
    }
}

impl FileStore {
    /// Sets secrets by parsing the whole file and writing it whole.
    fn set_in(&self, loaded: Loaded, items: &[(SecretKey<'_>, &Secret)]) -> Result<(), SecretError> {
        let mut secrets = loaded.into_secrets();
        for (key, secret) in items {
            secrets.entries.insert(
                key.id,
                FileEntry {
                    store: key.store_id.to_string(),
                    environment: key.environment.to_string(),
                    address: key.address.to_string(),
                    username: key.username.to_string(),
                    secret: secret.expose().to_string(),
                },
            );
        }
        self.save(&secrets)
    }
}

enum Parsed {
    Secrets(FileSecrets),
    TooNew(i64),
}

/// Parses the file's text: the scanner for what regcred writes, else the `toml` crate.
#[cfg(any(test, feature = "fuzzing"))]
fn parse_file(text: &str) -> Result<Parsed, (usize, String)> {
    match scan::parse(text) {
        Some(secrets) => Ok(Parsed::Secrets(secrets)),
        None => parse_file_with_toml(text),
    }
}

/// Parses the file's text with the `toml` crate. Errors are (byte offset, message); no
/// message ever quotes a value from the file, since any value might be a secret.
fn parse_file_with_toml(text: &str) -> Result<Parsed, (usize, String)> {
    use toml::de::{DeTable, DeValue};

    let document = match DeTable::parse(text) {
        Ok(document) => document,
        // Only the message: the error's Display would quote the offending line.
        Err(err) => {
            let offset = err.span().map_or(0, |span| span.start);
            return Err((offset, err.message().to_string()));
        }
    };
    let mut secrets = FileSecrets::default();
    let mut version = None;
    for (key, value) in document.into_inner() {
        let at = value.span().start;
        match key.get_ref().as_ref() {
            "version" => match value.get_ref() {
                DeValue::Integer(n) => {
                    let found = i64::from_str_radix(n.as_str(), n.radix())
                        .map_err(|_| (at, "`version` is not a valid number".to_string()))?;
                    version = Some(found);
                }
                _ => return Err((at, "`version` must be an integer".to_string())),
            },
            "secret" => {
                let DeValue::Table(table) = value.into_inner() else {
                    return Err((at, "`secret` must be a table of credential ids".to_string()));
                };
                for (id, entry) in table {
                    let at = entry.span().start;
                    let id: u64 = id
                        .get_ref()
                        .parse()
                        .map_err(|_| (id.span().start, format!("`secret.{}` is not a credential id", id.get_ref())))?;
                    let DeValue::Table(fields) = entry.into_inner() else {
                        return Err((at, format!("`secret.{id}` must be a table")));
                    };
                    let entry = parse_entry(id, at, fields)?;
                    secrets.entries.insert(id, entry);
                }
            }
            other => return Err((key.span().start, format!("unknown key `{other}`"))),
        }
    }
    match version {
        Some(FILE_VERSION) | None => Ok(Parsed::Secrets(secrets)),
        Some(found) if found > FILE_VERSION => Ok(Parsed::TooNew(found)),
        Some(found) => Err((0, format!("unknown format version {found}"))),
    }
}

fn parse_entry(id: u64, at: usize, fields: toml::de::DeTable<'_>) -> Result<FileEntry, (usize, String)> {
    use std::borrow::Cow;
    use toml::de::DeValue;

    let mut entry = FileEntry {
        store: String::new(),
        environment: String::new(),
        address: String::new(),
        username: String::new(),
        secret: String::new(),
    };
    let mut seen = [false; 5];
    for (name, value) in fields {
        let value_at = value.span().start;
        let (slot, index) = match name.get_ref().as_ref() {
            "store" => (&mut entry.store, 0),
            "environment" => (&mut entry.environment, 1),
            "address" => (&mut entry.address, 2),
            "username" => (&mut entry.username, 3),
            "secret" => (&mut entry.secret, 4),
            other => {
                return Err((name.span().start, format!("unknown key `{other}` in `secret.{id}`")));
            }
        };
        match value.into_inner() {
            // Moved, not copied, when the parser had to build an owned string.
            DeValue::String(Cow::Owned(text)) => *slot = text,
            DeValue::String(Cow::Borrowed(text)) => *slot = text.to_string(),
            _ => {
                return Err((value_at, format!("`secret.{id}.{}` must be a string", name.get_ref())));
            }
        }
        seen[index] = true;
    }
    let names = ["store", "environment", "address", "username", "secret"];
    if let Some(missing) = names.iter().zip(seen).find(|(_, seen)| !seen) {
        return Err((at, format!("`secret.{id}` has no `{}`", missing.0)));
    }
    Ok(entry)
}

/// Writes the file's text by hand, into one buffer sized up front, so the secrets are
/// copied exactly once and that copy is wiped.
fn render_file(secrets: &FileSecrets) -> Zeroizing<String> {
    let capacity = HEADER.len()
        + 32
        + secrets
            .entries
            .values()
            .map(|e| {
                128 + 6 * (e.store.len() + e.environment.len() + e.address.len() + e.username.len() + e.secret.len())
            })
            .sum::<usize>();
    let mut out = Zeroizing::new(String::with_capacity(capacity));
    out.push_str(HEADER);
    out.push_str(&format!("version = {FILE_VERSION}\n"));
    for (id, e) in &secrets.entries {
        out.push('\n');
        push_table(&mut out, *id, [&e.store, &e.environment, &e.address, &e.username, &e.secret]);
    }
    out
}

/// One `[secret.ID]` table, alone, in a buffer that is wiped when dropped.
fn render_table(id: u64, values: [&str; 5]) -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(128 + 6 * values.iter().map(|v| v.len()).sum::<usize>()));
    push_table(&mut out, id, values);
    out
}

/// Appends one `[secret.ID]` table: its header and the five fields, in their order.
fn push_table(out: &mut String, id: u64, values: [&str; 5]) {
    // Into the buffer directly: `format!` would build a temporary.
    let _ = writeln!(out, "[secret.{id}]");
    for (name, value) in ["store", "environment", "address", "username", "secret"].into_iter().zip(values) {
        out.push_str(name);
        out.push_str(" = ");
        push_toml_string(out, value);
        out.push('\n');
    }
}

/// Appends `value` as a TOML basic string.
fn push_toml_string(out: &mut String, value: &str) {
    out.push('"');
    // Most values need no escape: copied whole rather than character by character.
    if !value.chars().any(|c| c == '"' || c == '\\' || c.is_control()) {
        out.push_str(value);
        out.push('"');
        return;
    }
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                // Written digit by digit: `format!` would build an unwiped temporary.
                out.push_str("\\u");
                let code = c as u32;
                for shift in [12, 8, 4, 0] {
                    let digit = (code >> shift) & 0xf;
                    out.push(char::from_digit(digit, 16).unwrap_or('0'));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// For the fuzzer (`crate::fuzzing`): wherever the scanner accepts a text, the `toml`
/// crate reads the same entries from it; and a secrets file that parses is rewritten by
/// `render_file` into text that parses back to the same entries.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn check_file_round_trip(text: &str) {
    let fields = |e: &FileEntry| {
        [e.store.clone(), e.environment.clone(), e.address.clone(), e.username.clone(), e.secret.clone()]
    };
    if let Some(fast) = scan::parse(text) {
        let Ok(Parsed::Secrets(slow)) = parse_file_with_toml(text) else {
            panic!("the secrets scanner accepts what the toml crate refuses:\n{text}");
        };
        assert!(
            fast.entries.len() == slow.entries.len()
                && fast.entries.iter().zip(&slow.entries).all(|((a, x), (b, y))| a == b && fields(x) == fields(y)),
            "the secrets scanner and the toml crate disagree on:\n{text}"
        );
    }
    let Ok(Parsed::Secrets(secrets)) = parse_file(text) else { return };
    let rendered = render_file(&secrets);
    let Ok(Parsed::Secrets(back)) = parse_file(&rendered) else {
        panic!("a rewritten secrets file does not parse:\n{}", rendered.as_str());
    };
    assert!(
        secrets.entries.len() == back.entries.len()
            && secrets.entries.iter().zip(&back.entries).all(|((a, x), (b, y))| a == b && fields(x) == fields(y)),
        "rewriting the secrets file changed it:\n{text}\n---\n{}",
        rendered.as_str()
    );
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// What `toml` reads from the file, as (id, store, secret).
    fn read_with_toml(path: &Path) -> Vec<(u64, String, String)> {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        match parse_file_with_toml(&text) {
            Ok(Parsed::Secrets(secrets)) => {
                secrets.entries.iter().map(|(id, e)| (*id, e.store.clone(), e.secret.clone())).collect()
            }
            _ => panic!("the file no longer parses:\n{text}"),
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Changing one table at a time (append, replace, cut) keeps a file that `toml`
        /// reads exactly as the model says, and in regcred's form while values are plain.
        #[test]
        fn one_table_changes_keep_the_file_exact(
            ops in prop::collection::vec((0u64..12, prop::option::weighted(0.75, prop_oneof![
                9 => "[a-z0-9]{0,8}",
                1 => "[a-z\"\\\\\n\t]{0,4}",
            ])), 1..24)
        ) {
            let dir = tempfile::tempdir().unwrap();
            let store = FileStore::new(dir.path(), Warnings::default());
            let mut model = std::collections::BTreeMap::new();
            for (id, value) in ops {
                let key = SecretKey { store_id: "s", id, environment: "default", address: "a.example", username: "u" };
                match value {
                    Some(secret) => {
                        store.set(&key, &Secret::new(secret.clone())).unwrap();
                        model.insert(id, secret);
                    }
                    None => {
                        let removed = store.delete(&key).unwrap();
                        prop_assert_eq!(removed, model.remove(&id).is_some());
                    }
                }
                let expected: Vec<(u64, String, String)> =
                    model.iter().map(|(id, s)| (*id, "s".to_owned(), s.clone())).collect();
                prop_assert_eq!(read_with_toml(store.path()), expected);
                let text = std::fs::read_to_string(store.path()).unwrap_or_default();
                let plain = model.values().all(|s| !s.contains(['"', '\\', '\n', '\t']));
                prop_assert_eq!(scan::index(&text).is_some(), plain, "{}", text);
                // Read back through the store itself, too.
                let fresh = FileStore::new(dir.path(), Warnings::default());
                for (id, secret) in &model {
                    let key = SecretKey { store_id: "s", id: *id, environment: "default", address: "a.example", username: "u" };
                    prop_assert_eq!(fresh.get(&key).unwrap().map(|s| s.expose().to_owned()), Some(secret.clone()));
                }
            }
        }
    }

    #[test]
    fn appending_in_id_order_writes_what_a_whole_rewrite_writes() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path(), Warnings::default());
        let mut secrets = FileSecrets::default();
        for id in [1, 2, 5, 9] {
            let key = SecretKey { store_id: "s", id, environment: "default", address: "a.example", username: "u" };
            store.set(&key, &Secret::new(format!("pw{id}"))).unwrap();
            secrets.entries.insert(
                id,
                FileEntry {
                    store: "s".into(),
                    environment: "default".into(),
                    address: "a.example".into(),
                    username: "u".into(),
                    secret: format!("pw{id}"),
                },
            );
        }
        let key = SecretKey { store_id: "s", id: 5, environment: "default", address: "a.example", username: "u" };
        store.set(&key, &Secret::new("new".into())).unwrap();
        secrets.entries.get_mut(&5).unwrap().secret = "new".into();
        assert_eq!(std::fs::read_to_string(store.path()).unwrap(), render_file(&secrets).as_str());
        let key = SecretKey { store_id: "s", id: 9, environment: "default", address: "a.example", username: "u" };
        assert!(store.delete(&key).unwrap());
        secrets.entries.remove(&9);
        assert_eq!(std::fs::read_to_string(store.path()).unwrap(), render_file(&secrets).as_str());
    }
}
