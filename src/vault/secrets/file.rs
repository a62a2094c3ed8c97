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
/// Reads (`get`, `ids`) parse the file once per `FileStore` and answer from that snapshot,
/// as if all of them happened at the first: a command that reads many secrets reads the
/// file once. A write (`set`, `delete`) always reads the file afresh, under the lock, and
/// drops the snapshot.
pub(super) struct FileStore {
    file: PrivateFile,
    warnings: Warnings,
    snapshot: Mutex<Option<FileSecrets>>,
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

impl FileStore {
    pub(super) fn new(config_dir: &Path, warnings: Warnings) -> Self {
        FileStore { file: PrivateFile::new(config_dir.join(FILE_NAME)), warnings, snapshot: Mutex::new(None) }
    }

    /// `f` over the file as first read by this store (see the type's comment).
    fn read_snapshot<T>(&self, f: impl FnOnce(&FileSecrets) -> T) -> Result<T, SecretError> {
        let mut guard = self.snapshot.lock().unwrap_or_else(PoisonError::into_inner);
        let secrets = match guard.take() {
            Some(secrets) => guard.insert(secrets),
            None => guard.insert(self.load()?),
        };
        Ok(f(secrets))
    }

    fn forget_snapshot(&self) {
        *self.snapshot.lock().unwrap_or_else(PoisonError::into_inner) = None;
    }

    fn path(&self) -> &Path {
        self.file.path()
    }

    /// Reads and parses the file; a missing file holds no secrets.
    fn load(&self) -> Result<FileSecrets, SecretError> {
        let Some(contents) = self.file.read().map_err(SecretError::from)? else {
            return Ok(FileSecrets::default());
        };
        if contents.mode & 0o044 != 0 {
            self.warnings.push(Warning::ReadableByOthers { path: self.path().to_owned(), mode: contents.mode });
        }
        let bytes = &contents.bytes;
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(err) => {
                let (line, column) = line_column(&bytes[..err.valid_up_to()], err.valid_up_to());
                return Err(self.corrupt(line, column, "the file is not valid UTF-8 text"));
            }
        };
        parse_file(text)
            .map_err(|(offset, message)| {
                let (line, column) = line_column(text.as_bytes(), offset);
                self.corrupt(line, column, message)
            })
            .and_then(|parsed| match parsed {
                Parsed::Secrets(secrets) => Ok(secrets),
                Parsed::TooNew(found) => Err(SecretError::FileVersionTooNew { path: self.path().to_owned(), found }),
            })
    }

    fn corrupt(&self, line: usize, column: usize, message: impl Into<String>) -> SecretError {
        SecretError::FileCorrupt { path: self.path().to_owned(), line, column, message: message.into() }
    }

    /// Replaces the file atomically (see [`PrivateFile::replace`]).
    fn save(&self, secrets: &FileSecrets) -> Result<(), SecretError> {
        let text = render_file(secrets);
        self.file.replace(text.as_bytes()).map_err(SecretError::from)
    }
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

    fn set(&self, key: &SecretKey<'_>, secret: &Secret) -> Result<(), SecretError> {
        self.set_many(&[(*key, secret)])
    }

    /// One read and one atomic rewrite of the file, however many secrets.
    fn set_many(&self, items: &[(SecretKey<'_>, &Secret)]) -> Result<(), SecretError> {
        self.forget_snapshot();
        let mut secrets = self.load()?;
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

    fn get(&self, key: &SecretKey<'_>) -> Result<Option<Secret>, SecretError> {
        self.read_snapshot(|secrets| {
            secrets
                .entries
                .get(&key.id)
                .filter(|entry| entry.store == key.store_id)
                .map(|entry| Secret::new(entry.secret.clone()))
        })
    }

    fn delete(&self, key: &SecretKey<'_>) -> Result<bool, SecretError> {
        self.forget_snapshot();
        let mut secrets = self.load()?;
        let ours = secrets.entries.get(&key.id).is_some_and(|entry| entry.store == key.store_id);
        if !ours {
            return Ok(false);
        }
        secrets.entries.remove(&key.id);
        self.save(&secrets)?;
        Ok(true)
    }

    fn ids(&self, store_id: &str) -> Result<Vec<u64>, SecretError> {
        self.read_snapshot(|secrets| {
            secrets.entries.iter().filter(|(_, entry)| entry.store == store_id).map(|(id, _)| *id).collect()
        })
    }
}

enum Parsed {
    Secrets(FileSecrets),
    TooNew(i64),
}

/// Parses the file's text: the scanner for what regcred writes, else the `toml` crate.
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
    for (id, entry) in &secrets.entries {
        // Into the buffer directly: `format!` would build a temporary.
        let _ = write!(*out, "\n[secret.{id}]\n");
        for (name, value) in [
            ("store", &entry.store),
            ("environment", &entry.environment),
            ("address", &entry.address),
            ("username", &entry.username),
            ("secret", &entry.secret),
        ] {
            out.push_str(name);
            out.push_str(" = ");
            push_toml_string(&mut out, value);
            out.push('\n');
        }
    }
    out
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

/// For the fuzzer (`crate::fuzzing`): a secrets file that parses is rewritten by
/// `render_file` into text that parses back to the same entries.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn check_file_round_trip(text: &str) {
    let Ok(Parsed::Secrets(secrets)) = parse_file(text) else { return };
    let rendered = render_file(&secrets);
    let Ok(Parsed::Secrets(back)) = parse_file(&rendered) else {
        panic!("a rewritten secrets file does not parse:\n{}", rendered.as_str());
    };
    let fields = |e: &FileEntry| {
        [e.store.clone(), e.environment.clone(), e.address.clone(), e.username.clone(), e.secret.clone()]
    };
    assert!(
        secrets.entries.len() == back.entries.len()
            && secrets.entries.iter().zip(&back.entries).all(|((a, x), (b, y))| a == b && fields(x) == fields(y)),
        "rewriting the secrets file changed it:\n{text}\n---\n{}",
        rendered.as_str()
    );
}
