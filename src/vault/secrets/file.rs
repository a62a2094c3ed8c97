//! The `file` secret store: one plain-text file per credential under
//! `<config-dir>/secrets.d/` (0700), each mode 0600, chosen only explicitly; and the
//! single `secrets.toml` older versions kept, read as long as it is there and moved into
//! `secrets.d/` by the first write ([`migrate`]). Every file goes through [`PrivateFile`].

use std::fmt::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use zeroize::{Zeroize, Zeroizing};

use super::{Secret, SecretError, SecretKey, SecretStore, SecretStoreKind};
use crate::vault::Warning;
use crate::vault::Warnings;
use crate::vault::fs::{PrivateFile, line_column};

mod dir;
mod scan;

pub(crate) use dir::{DIR_NAME, is_temp_name as is_staged_secret};

pub(crate) const FILE_NAME: &str = "secrets.toml";
const FILE_VERSION: i64 = 1;
/// The comment every written file starts with.
const HEADER: &str = "\
# regcred secrets: plain text, chosen with `--secret-store file`.
# Keep this file private (mode 0600). Each [secret.ID] belongs to credential ID.
";

/// The file store of one config dir.
///
/// Its layout: `secrets.d/ID.toml` for credential ID, each in the form of the old
/// `secrets.toml` with one table, so both are read by the same code:
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
/// A change of one secret writes (or, for a delete, unlinks) that one small file, whatever
/// the number of credentials: no write reads or rewrites the others.
///
/// While a `secrets.toml` exists (a store written by an older regcred, or one whose
/// migration was interrupted) it alone is read and written, exactly as before; the
/// store's transaction moves it into `secrets.d/` at its first commit ([`migrate`]).
///
/// The caller holds the config dir's exclusive lock around every read-modify-write, so
/// this type does no locking of its own.
///
/// Reads of `secrets.toml` (`get`, `ids`) read it once per `FileStore` and answer from
/// that snapshot, as if all of them happened at the first: a command that reads many
/// secrets reads the file once. A write (`set`, `delete`) always reads it afresh, under
/// the lock, and drops the snapshot.
///
/// A `secrets.toml` in the form regcred writes is not parsed whole: [`scan::index`]
/// checks it and finds each table, a read parses one table, and a change of one secret
/// cuts, replaces or appends that one table's text. Anything else goes through the `toml`
/// crate whole.
pub(super) struct FileStore {
    /// `secrets.toml`, the layout before `secrets.d/`.
    file: PrivateFile,
    /// `secrets.d/`.
    dir: PathBuf,
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
        FileStore {
            file: PrivateFile::new(config_dir.join(FILE_NAME)),
            dir: config_dir.join(DIR_NAME),
            warnings,
            snapshot: Mutex::new(None),
        }
    }

    /// Whether `secrets.toml` is (still) there: then it holds every secret of the store.
    /// Anything in its place counts (a link, a FIFO), so that it is refused as before
    /// rather than passed over.
    fn legacy(&self) -> bool {
        !matches!(std::fs::symlink_metadata(self.file.path()), Err(e) if e.kind() == std::io::ErrorKind::NotFound)
    }

    /// `f` over `secrets.toml` as first read by this store (see the type's comment).
    fn read_snapshot<T>(&self, f: impl FnOnce(&Loaded) -> T) -> Result<T, SecretError> {
        let mut guard = self.snapshot.lock().unwrap_or_else(PoisonError::into_inner);
        let loaded = match guard.take() {
            Some(loaded) => guard.insert(loaded),
            None => guard.insert(self.load(&self.file)?),
        };
        Ok(f(loaded))
    }

    /// Whether reads answer from `secrets.toml`: it is there, or was when this store first
    /// read it (the snapshot's "as if all reads happened at the first").
    fn reads_legacy(&self) -> bool {
        self.snapshot.lock().unwrap_or_else(PoisonError::into_inner).is_some() || self.legacy()
    }

    fn forget_snapshot(&self) {
        *self.snapshot.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    /// The file of credential `id` in `secrets.d/`.
    fn secret_file(&self, id: u64) -> PrivateFile {
        dir::secret_file(&self.dir, id)
    }

    /// Reads a secrets file and checks it whole; a missing file holds no secrets.
    fn load(&self, file: &PrivateFile) -> Result<Loaded, SecretError> {
        let path = file.path();
        let Some(mut contents) = file.read().map_err(SecretError::from)? else {
            return Ok(Loaded::Parsed(FileSecrets::default()));
        };
        if contents.mode & 0o044 != 0 {
            self.warnings.push(Warning::ReadableByOthers { path: path.to_owned(), mode: contents.mode });
        }
        // The buffer moves into the text (no copy); either way it is wiped when dropped.
        let text = match String::from_utf8(std::mem::take(&mut *contents.bytes)) {
            Ok(text) => Zeroizing::new(text),
            Err(err) => {
                let valid = err.utf8_error().valid_up_to();
                let bytes = Zeroizing::new(err.into_bytes());
                let (line, column) = line_column(&bytes[..valid], valid);
                return Err(corrupt(path, line, column, "the file is not valid UTF-8 text"));
            }
        };
        if let Some(tables) = scan::index(&text) {
            return Ok(Loaded::Indexed { text, tables });
        }
        parse_file_with_toml(&text)
            .map_err(|(offset, message)| {
                let (line, column) = line_column(text.as_bytes(), offset);
                corrupt(path, line, column, message)
            })
            .and_then(|parsed| match parsed {
                Parsed::Secrets(secrets) => Ok(Loaded::Parsed(secrets)),
                Parsed::TooNew(found) => Err(SecretError::FileVersionTooNew { path: path.to_owned(), found }),
            })
    }

    /// Replaces `secrets.toml` atomically (see [`PrivateFile::replace`]).
    fn save(&self, secrets: &FileSecrets) -> Result<(), SecretError> {
        let text = render_file(secrets);
        self.write(&text)
    }

    fn write(&self, text: &str) -> Result<(), SecretError> {
        self.file.replace(text.as_bytes()).map_err(SecretError::from)
    }

    /// The entry of credential `id` in `secrets.d/`, when it is there and of `store_id`.
    fn dir_entry(&self, id: u64, store_id: &str) -> Result<Option<FileEntry>, SecretError> {
        if !dir::check(&self.dir)? {
            return Ok(None);
        }
        let loaded = self.load(&self.secret_file(id))?;
        Ok(loaded.entry(id).filter(|entry| entry.store == store_id))
    }

    /// Writes one secret's file in `secrets.d/` (made first if needed). A file already
    /// there is read first, so one that does not parse, is newer, or that others may write
    /// is refused and left as it is, as `secrets.toml` always was.
    fn dir_set(&self, key: &SecretKey<'_>, secret: &Secret) -> Result<(), SecretError> {
        dir::ensure(&self.dir)?;
        let file = self.secret_file(key.id);
        self.load(&file)?;
        let text = render_one(key.id, [key.store_id, key.environment, key.address, key.username, secret.expose()]);
        file.replace(text.as_bytes()).map_err(SecretError::from)
    }

    /// [`dir_set`](Self::dir_set) for many secrets, flushed together (import).
    fn dir_set_many(&self, items: &[(SecretKey<'_>, &Secret)]) -> Result<(), SecretError> {
        dir::ensure(&self.dir)?;
        let mut texts = Vec::with_capacity(items.len());
        for (key, secret) in items {
            let file = self.secret_file(key.id);
            self.load(&file)?;
            let values = [key.store_id, key.environment, key.address, key.username, secret.expose()];
            texts.push((file, render_one(key.id, values)));
        }
        let files: Vec<(PrivateFile, &[u8])> =
            texts.iter().map(|(file, text)| (file.clone(), text.as_bytes())).collect();
        PrivateFile::replace_many(&files).map_err(SecretError::from)
    }
}

fn corrupt(path: &Path, line: usize, column: usize, message: impl Into<String>) -> SecretError {
    SecretError::FileCorrupt { path: path.to_owned(), line, column, message: message.into() }
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
        if self.legacy() { self.file.path() } else { self.dir.as_path() }.display().to_string()
    }

    /// Stricter than a read: doctor also reports a file (or `secrets.d/`) other users may
    /// read. Cheap for `secrets.d/`: the files in it are read by `ids`.
    fn check(&self) -> Result<(), SecretError> {
        if !self.legacy() {
            return dir::check_private(&self.dir);
        }
        self.load(&self.file)?;
        match self.file.read().map_err(SecretError::from)? {
            Some(contents) if contents.mode & 0o077 != 0 => {
                Err(SecretError::InsecurePermissions { path: self.file.path().to_owned(), mode: contents.mode })
            }
            _ => Ok(()),
        }
    }

    /// One secret: its own file in `secrets.d/`; in a `secrets.toml` in regcred's form,
    /// only its table is written anew.
    fn set(&self, key: &SecretKey<'_>, secret: &Secret) -> Result<(), SecretError> {
        if !self.legacy() {
            return self.dir_set(key, secret);
        }
        self.forget_snapshot();
        let loaded = self.load(&self.file)?;
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

    /// `secrets.toml`: one read and one atomic rewrite, however many secrets.
    fn set_many(&self, items: &[(SecretKey<'_>, &Secret)]) -> Result<(), SecretError> {
        if !self.legacy() {
            return self.dir_set_many(items);
        }
        self.forget_snapshot();
        let loaded = self.load(&self.file)?;
        self.set_in(loaded, items)
    }

    fn get(&self, key: &SecretKey<'_>) -> Result<Option<Secret>, SecretError> {
        if !self.reads_legacy() {
            return Ok(self.dir_entry(key.id, key.store_id)?.map(|entry| Secret::new(entry.secret.clone())));
        }
        self.read_snapshot(|loaded| {
            loaded
                .entry(key.id)
                .filter(|entry| entry.store == key.store_id)
                .map(|entry| Secret::new(entry.secret.clone()))
        })
    }

    /// In `secrets.d/`, the secret's file is unlinked (and the directory synced): nothing
    /// of it remains (rule 7).
    fn delete(&self, key: &SecretKey<'_>) -> Result<bool, SecretError> {
        if !self.legacy() {
            if self.dir_entry(key.id, key.store_id)?.is_none() {
                return Ok(false);
            }
            dir::remove(&self.dir, key.id)?;
            return Ok(true);
        }
        self.forget_snapshot();
        let loaded = self.load(&self.file)?;
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
        if !self.reads_legacy() {
            let mut ids = Vec::new();
            for id in dir::ids(&self.dir)? {
                if self.dir_entry(id, store_id)?.is_some() {
                    ids.push(id);
                }
            }
            return Ok(ids);
        }
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
    /// Sets secrets in `secrets.toml` by parsing it whole and writing it whole.
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

/// Moves a `secrets.toml` into `secrets.d/`, the first step of a store's first write
/// under its lock: every secret gets its file (each written atomically and synced), files
/// of ids the old file does not have are removed (an older regcred may have deleted them
/// there since an interrupted migration), and the directory is synced. `secrets.toml`
/// stays, and stays what is read, until [`finish_migration`] removes it after the
/// metadata is saved: a crash at any point leaves a store that reads as before and is
/// migrated again by the next write. `Ok(false)`: nothing to migrate. A `secrets.toml`
/// that cannot be read is left as it is (its errors are for the commands that read it and
/// for doctor) and the store keeps using it.
pub(crate) fn migrate(config_dir: &Path, warnings: &Warnings) -> Result<bool, SecretError> {
    let store = FileStore::new(config_dir, warnings.clone());
    if !store.legacy() {
        return Ok(false);
    }
    let Ok(loaded) = store.load(&store.file) else {
        return Ok(false);
    };
    let secrets = loaded.into_secrets();
    dir::ensure(&store.dir)?;
    let texts: Vec<(PrivateFile, Zeroizing<String>)> = secrets
        .entries
        .iter()
        .map(|(id, e)| {
            (store.secret_file(*id), render_one(*id, [&e.store, &e.environment, &e.address, &e.username, &e.secret]))
        })
        .collect();
    let files: Vec<(PrivateFile, &[u8])> = texts.iter().map(|(file, text)| (file.clone(), text.as_bytes())).collect();
    PrivateFile::replace_many(&files).map_err(SecretError::from)?;
    for id in dir::ids(&store.dir)? {
        if !secrets.entries.contains_key(&id) {
            dir::remove(&store.dir, id)?;
        }
    }
    Ok(true)
}

/// The last step of a migration: removes `secrets.toml` (every secret of it is in
/// `secrets.d/` by now) and syncs the config dir.
pub(crate) fn finish_migration(config_dir: &Path) -> Result<(), SecretError> {
    let path = config_dir.join(FILE_NAME);
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(crate::vault::fs::FsError::io("cannot remove", &path, e).into()),
    }
    dir::sync(config_dir);
    Ok(())
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

/// The file of one secret in `secrets.d/`: the header, the version and its one table.
fn render_one(id: u64, values: [&str; 5]) -> Zeroizing<String> {
    let mut out =
        Zeroizing::new(String::with_capacity(HEADER.len() + 160 + 6 * values.iter().map(|v| v.len()).sum::<usize>()));
    out.push_str(HEADER);
    let _ = writeln!(out, "version = {FILE_VERSION}");
    out.push('\n');
    push_table(&mut out, id, values);
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

    impl FileStore {
        /// `secrets.toml`'s path.
        fn path(&self) -> &Path {
            self.file.path()
        }
    }

    /// A store of the older layout: an empty `secrets.toml` makes it one.
    fn legacy_store(dir: &Path) -> FileStore {
        PrivateFile::new(dir.join(FILE_NAME)).replace(b"").unwrap();
        FileStore::new(dir, Warnings::default())
    }

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
            let store = legacy_store(dir.path());
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

    /// The key of credential `id` in store `store_id`; the other fields are fixed.
    fn key_of(store_id: &str, id: u64) -> SecretKey<'_> {
        SecretKey { store_id, id, environment: "default", address: "a.example", username: "u" }
    }

    /// The secret `store` hands out for credential `id` of store `s`, as text.
    fn secret_in(store: &FileStore, id: u64) -> Option<String> {
        store.get(&key_of("s", id)).unwrap().map(|s| s.expose().to_owned())
    }

    /// One `[secret.ID]` table of store `s` as regcred writes it.
    fn table_of(id: u64, secret: &str) -> String {
        render_table(id, ["s", "default", "a.example", "u", secret]).to_string()
    }

    #[cfg(unix)]
    fn chmod(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[cfg(unix)]
    fn mode_of(path: &Path) -> u32 {
        crate::vault::fs::mode_of(&std::fs::metadata(path).unwrap())
    }

    #[test]
    fn splice_keeps_the_bytes_around_the_cut() {
        let text = "head\n\n[a]\n1\n\n[b]\n2\n\n[c]\n3\n";
        let (a, b, c) = (6..13, 13..20, 20..26);
        assert_eq!((&text[a.clone()], &text[b.clone()], &text[c.clone()]), ("[a]\n1\n\n", "[b]\n2\n\n", "[c]\n3\n"));
        let cases = [
            // Cut: the neighbours meet with their blank line between them.
            (a.clone(), "", "head\n\n[b]\n2\n\n[c]\n3\n"),
            (b.clone(), "", "head\n\n[a]\n1\n\n[c]\n3\n"),
            // Cut from the end: the blank line before it goes too.
            (c.clone(), "", "head\n\n[a]\n1\n\n[b]\n2\n"),
            // Replaced: the new table gets the blank line the old one had after it…
            (a, "[A]\n9\n", "head\n\n[A]\n9\n\n[b]\n2\n\n[c]\n3\n"),
            (b, "[B]\n9\n", "head\n\n[a]\n1\n\n[B]\n9\n\n[c]\n3\n"),
            // …and at the end none.
            (c, "[C]\n9\n", "head\n\n[a]\n1\n\n[b]\n2\n\n[C]\n9\n"),
        ];
        for (span, with, expected) in cases {
            assert_eq!(splice(text, span.clone(), with).as_str(), expected, "{span:?} → {with:?}");
        }
        // Cut from the end with no blank line before it: the line end before it stays.
        assert_eq!(splice("head\n[c]\n3\n", 5..11, "").as_str(), "head\n");
    }

    #[test]
    fn delete_cuts_only_its_table_and_leaves_the_rest_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        // In regcred's form but not as it writes it: no header, the tables out of order.
        let text = format!("version = 1\n\n{}\n{}\n{}", table_of(5, "five"), table_of(2, "two"), table_of(7, "seven"));
        let path = dir.path().join(FILE_NAME);
        PrivateFile::new(path.clone()).replace(text.as_bytes()).unwrap();
        let store = FileStore::new(dir.path(), Warnings::default());

        // Neither an id the file does not have nor another store's id is deleted.
        assert!(!store.delete(&key_of("s", 9)).unwrap());
        assert!(!store.delete(&key_of("other", 5)).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), text, "a delete of nothing changed the file");

        assert!(store.delete(&key_of("s", 2)).unwrap());
        let expected = format!("version = 1\n\n{}\n{}", table_of(5, "five"), table_of(7, "seven"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
        assert!(store.delete(&key_of("s", 7)).unwrap());
        let expected = format!("version = 1\n\n{}", table_of(5, "five"));
        assert_eq!(std::fs::read_to_string(&path).unwrap(), expected);
        assert_eq!(secret_in(&FileStore::new(dir.path(), Warnings::default()), 5).as_deref(), Some("five"));

        // The last secret: the file is written whole, in the form regcred writes.
        assert!(store.delete(&key_of("s", 5)).unwrap());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{HEADER}version = 1\n"));
        assert!(!store.delete(&key_of("s", 5)).unwrap());
    }

    #[test]
    fn a_table_appended_to_a_file_without_a_final_line_end_starts_after_a_blank_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        for (text, joint) in [("version = 1", "\n\n"), ("version = 1\n", "\n")] {
            PrivateFile::new(path.clone()).replace(text.as_bytes()).unwrap();
            let store = FileStore::new(dir.path(), Warnings::default());
            store.set(&key_of("s", 3), &Secret::new("three".into())).unwrap();
            assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{text}{joint}{}", table_of(3, "three")));
        }
    }

    #[test]
    fn reads_after_a_write_see_it_though_earlier_reads_took_a_snapshot() {
        let dir = tempfile::tempdir().unwrap();
        let store = legacy_store(dir.path());
        store.set(&key_of("s", 1), &Secret::new("one".into())).unwrap();
        assert_eq!(secret_in(&store, 1).as_deref(), Some("one"));
        assert_eq!(store.ids("s").unwrap(), [1]);

        store.set(&key_of("s", 2), &Secret::new("two".into())).unwrap();
        assert_eq!(secret_in(&store, 2).as_deref(), Some("two"));
        store.set(&key_of("s", 1), &Secret::new("uno".into())).unwrap();
        assert_eq!(secret_in(&store, 1).as_deref(), Some("uno"));
        assert_eq!(store.ids("s").unwrap(), [1, 2]);
        assert!(store.delete(&key_of("s", 2)).unwrap());
        assert_eq!(secret_in(&store, 2), None);
        store.set_many(&[(key_of("s", 3), &Secret::new("three".into()))]).unwrap();
        assert_eq!(store.ids("s").unwrap(), [1, 3]);
    }

    #[test]
    fn ids_and_get_of_a_secrets_toml_are_those_of_the_store_asked() {
        // Both ways of reading the file: the scanner's, and `toml`'s for a value with an
        // escape (which the scanner leaves to it).
        for odd in ["plain", "quote \" inside"] {
            let dir = tempfile::tempdir().unwrap();
            let store = legacy_store(dir.path());
            let items = [(key_of("s", 4), "four"), (key_of("other", 6), "six"), (key_of("s", 8), odd)];
            for (key, secret) in items {
                store.set(&key, &Secret::new(secret.into())).unwrap();
            }
            let text = std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap();
            assert_eq!(scan::index(&text).is_some(), odd == "plain", "{text}");
            let store = FileStore::new(dir.path(), Warnings::default());
            assert_eq!(store.ids("s").unwrap(), [4, 8]);
            assert_eq!(store.ids("other").unwrap(), [6]);
            assert_eq!(store.ids("none").unwrap(), [] as [u64; 0]);
            assert_eq!(secret_in(&store, 6), None);
            assert_eq!(store.get(&key_of("other", 6)).unwrap().map(|s| s.expose().to_owned()).as_deref(), Some("six"));
            assert_eq!(secret_in(&store, 8).as_deref(), Some(odd));
        }
    }

    #[test]
    fn set_many_writes_every_secret_in_either_layout() {
        let secrets = [Secret::new("one".into()), Secret::new("two".into()), Secret::new("seven".into())];
        let items = [(key_of("s", 1), &secrets[0]), (key_of("s", 2), &secrets[1]), (key_of("s", 7), &secrets[2])];

        // `secrets.d/`: one file each, and no `secrets.toml`.
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path(), Warnings::default());
        store.set_many(&items).unwrap();
        for (id, secret) in [(1, "one"), (2, "two"), (7, "seven")] {
            let text = std::fs::read_to_string(dir.path().join(DIR_NAME).join(format!("{id}.toml"))).unwrap();
            assert_eq!(text, render_one(id, ["s", "default", "a.example", "u", secret]).as_str());
        }
        assert!(!dir.path().join(FILE_NAME).exists());
        let store = FileStore::new(dir.path(), Warnings::default());
        assert_eq!(store.ids("s").unwrap(), [1, 2, 7]);
        assert_eq!(secret_in(&store, 7).as_deref(), Some("seven"));

        // `secrets.toml`: all of them in it, and no `secrets.d/`.
        let dir = tempfile::tempdir().unwrap();
        let store = legacy_store(dir.path());
        store.set_many(&items).unwrap();
        let expected: Vec<(u64, String, String)> =
            [(1, "one"), (2, "two"), (7, "seven")].map(|(id, s)| (id, "s".to_owned(), s.to_owned())).into();
        assert_eq!(read_with_toml(store.path()), expected);
        assert!(!dir.path().join(DIR_NAME).exists());
    }

    #[test]
    fn set_many_into_secrets_d_writes_none_when_a_file_there_does_not_parse() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path(), Warnings::default());
        store.set(&key_of("s", 5), &Secret::new("five".into())).unwrap();
        let broken = dir.path().join(DIR_NAME).join("2.toml");
        PrivateFile::new(broken.clone()).replace(b"[secret.2\n").unwrap();
        let (one, two) = (Secret::new("one".into()), Secret::new("two".into()));
        let err = store.set_many(&[(key_of("s", 1), &one), (key_of("s", 2), &two)]).unwrap_err();
        assert!(matches!(err, SecretError::FileCorrupt { .. }), "{err:?}");
        assert!(!dir.path().join(DIR_NAME).join("1.toml").exists(), "a secret was written before the refusal");
        assert_eq!(std::fs::read(&broken).unwrap(), b"[secret.2\n");
    }

    #[cfg(unix)]
    #[test]
    fn a_secrets_file_others_may_read_is_read_with_a_warning_that_names_its_mode() {
        for legacy in [true, false] {
            let dir = tempfile::tempdir().unwrap();
            let warnings = Warnings::default();
            let store = || FileStore::new(dir.path(), warnings.clone());
            if legacy {
                legacy_store(dir.path());
            }
            store().set(&key_of("s", 1), &Secret::new("one".into())).unwrap();
            let path = if legacy { dir.path().join(FILE_NAME) } else { dir.path().join(DIR_NAME).join("1.toml") };
            assert_eq!(mode_of(&path), 0o600);
            assert_eq!(secret_in(&store(), 1).as_deref(), Some("one"));
            assert!(warnings.take().is_empty(), "a private file was warned about");
            for mode in [0o640, 0o604, 0o644] {
                chmod(&path, mode);
                assert_eq!(secret_in(&store(), 1).as_deref(), Some("one"), "{mode:o}");
                assert_eq!(warnings.take(), [Warning::ReadableByOthers { path: path.clone(), mode }]);
            }
        }
    }

    #[cfg(unix)]
    #[test]
    fn check_refuses_a_secrets_toml_others_may_read_and_says_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let store = legacy_store(dir.path());
        store.set(&key_of("s", 1), &Secret::new("one".into())).unwrap();
        store.check().unwrap();
        for mode in [0o640, 0o604, 0o610] {
            chmod(store.path(), mode);
            let err = store.check().unwrap_err();
            assert!(matches!(err, SecretError::InsecurePermissions { mode: m, .. } if m == mode), "{err:?}");
            let message = err.to_string();
            assert!(message.contains(&format!("mode {mode:04o} lets other users read it")), "{message}");
            assert_eq!(mode_of(store.path()), mode, "check changed the file's mode");
        }
        chmod(store.path(), 0o600);
        store.check().unwrap();
    }

    /// `secrets.toml` of store `s` with secrets 1, 2 and 5, the way an older regcred left it.
    fn old_layout(dir: &Path) -> String {
        let store = legacy_store(dir);
        for (id, secret) in [(1, "one"), (2, "two"), (5, "five")] {
            store.set(&key_of("s", id), &Secret::new(secret.into())).unwrap();
        }
        std::fs::read_to_string(dir.join(FILE_NAME)).unwrap()
    }

    #[test]
    fn migration_writes_every_secret_to_secrets_d_and_secrets_toml_goes_last() {
        let dir = tempfile::tempdir().unwrap();
        let old = old_layout(dir.path());
        // What an interrupted migration and an older regcred since may have left: a file of
        // an id secrets.toml no longer has, and one with a secret changed since.
        let secrets_d = dir.path().join(DIR_NAME);
        dir::ensure(&secrets_d).unwrap();
        for (id, secret) in [(9, "nine"), (2, "stale")] {
            let text = render_one(id, ["s", "default", "a.example", "u", secret]);
            dir::secret_file(&secrets_d, id).replace(text.as_bytes()).unwrap();
        }

        let warnings = Warnings::default();
        assert!(migrate(dir.path(), &warnings).unwrap());
        assert_eq!(dir::ids(&secrets_d).unwrap(), [1, 2, 5]);
        for (id, secret) in [(1, "one"), (2, "two"), (5, "five")] {
            let text = std::fs::read_to_string(dir::file_of(&secrets_d, id)).unwrap();
            assert_eq!(text, render_one(id, ["s", "default", "a.example", "u", secret]).as_str());
        }
        // secrets.toml stays, untouched, and is still what the store reads.
        assert_eq!(std::fs::read_to_string(dir.path().join(FILE_NAME)).unwrap(), old);
        let store = FileStore::new(dir.path(), Warnings::default());
        assert_eq!(store.location(), dir.path().join(FILE_NAME).display().to_string());

        finish_migration(dir.path()).unwrap();
        assert!(!dir.path().join(FILE_NAME).exists());
        let store = FileStore::new(dir.path(), Warnings::default());
        assert_eq!(store.location(), secrets_d.display().to_string());
        assert_eq!(store.ids("s").unwrap(), [1, 2, 5]);
        assert_eq!(secret_in(&store, 2).as_deref(), Some("two"));
        // Nothing is left to migrate or to remove.
        assert!(!migrate(dir.path(), &warnings).unwrap());
        finish_migration(dir.path()).unwrap();
        assert!(warnings.take().is_empty());
    }

    #[test]
    fn migration_of_a_secrets_toml_that_does_not_parse_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE_NAME);
        PrivateFile::new(path.clone()).replace(b"[secret.1\n").unwrap();
        assert!(!migrate(dir.path(), &Warnings::default()).unwrap());
        assert_eq!(std::fs::read(&path).unwrap(), b"[secret.1\n");
        assert!(!dir.path().join(DIR_NAME).exists());
    }

    #[test]
    fn finishing_a_migration_reports_a_secrets_toml_it_cannot_remove() {
        let dir = tempfile::tempdir().unwrap();
        // A directory in its place: unlink refuses it, whoever runs this.
        std::fs::create_dir(dir.path().join(FILE_NAME)).unwrap();
        let err = finish_migration(dir.path()).unwrap_err();
        assert!(err.to_string().contains("cannot remove"), "{err}");
        assert!(dir.path().join(FILE_NAME).is_dir());
    }

    #[test]
    fn a_secrets_file_of_a_version_before_1_is_refused_as_not_valid_not_as_newer() {
        for version in ["0", "-1"] {
            let text = format!("version = {version}\n");
            assert!(
                matches!(parse_file_with_toml(&text), Err((0, m)) if m == format!("unknown format version {version}"))
            );
            let dir = tempfile::tempdir().unwrap();
            PrivateFile::new(dir.path().join(FILE_NAME)).replace(text.as_bytes()).unwrap();
            let err = FileStore::new(dir.path(), Warnings::default()).ids("s").unwrap_err();
            assert!(matches!(err, SecretError::FileCorrupt { line: 1, column: 1, .. }), "{err:?}");
        }
        assert!(matches!(parse_file_with_toml("version = 2\n"), Ok(Parsed::TooNew(2))));
    }

    #[test]
    fn the_whole_file_is_written_into_one_buffer_asked_for_its_worst_case() {
        // The worst a table can take: the longest id, and each byte of each value written
        // as six (`\u0001`). The lengths differ so that no two sums or products of them
        // agree, and grow so that a buffer that grew cannot happen to end up just full.
        for scale in 1..=4 {
            let mut secrets = FileSecrets::default();
            let lengths = [7, 9, 11, 13, 17].map(|n| n * scale);
            let [store, environment, address, username, secret] = lengths.map(|n| "\u{1}".repeat(n));
            secrets.entries.insert(u64::MAX, FileEntry { store, environment, address, username, secret });
            let text = render_file(&secrets);
            let last = format!("\nsecret = \"{}\"\n", "\\u0001".repeat(lengths[4]));
            assert!(text.ends_with(&last), "{}", text.as_str());
            // `String::with_capacity` asks for exactly that much (Vec's guarantee). Asked
            // too little, the buffer would have grown while the secrets went in (to about
            // twice, leaving the old copy unwiped); asked too much, it would have more spare.
            let spare = text.capacity() - text.len();
            assert!(spare < 64, "{} bytes for {} written", text.capacity(), text.len());
        }
    }

    #[test]
    fn appending_in_id_order_writes_what_a_whole_rewrite_writes() {
        let dir = tempfile::tempdir().unwrap();
        let store = legacy_store(dir.path());
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
