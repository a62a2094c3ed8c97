//! `registries.toml`: where it lives, loading it, the advisory lock around every
//! read-modify-write, atomic saves and the schema version. No secret is ever written here.

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::exit::Failure;
use crate::secrets::SecretStoreKind;

mod scan;

pub use scan::Need;

/// The schema version this binary writes and understands.
pub const SCHEMA_VERSION: u32 = 1;
/// The environment a fresh store starts with.
pub const DEFAULT_ENVIRONMENT: &str = "default";

const STORE_FILE: &str = "registries.toml";
const LOCK_FILE: &str = "registries.lock";
/// Temporary files of `write_atomically`: `.regcred-XXXXXX.tmp`.
const TEMP_PREFIX: &str = ".regcred-";
const TEMP_SUFFIX: &str = ".tmp";

/// The config directory and the files in it.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

/// Holding this means holding the exclusive advisory lock on the store; dropping it
/// releases the lock.
#[must_use]
pub struct StoreLock {
    _file: File,
}

/// Everything `registries.toml` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registries {
    pub version: u32,
    /// Random id of this store; keyring items carry it so two config dirs sharing one
    /// keyring never see each other's secrets.
    pub store_id: String,
    pub current_environment: String,
    /// Ids are never reused, so the next one is remembered rather than derived.
    pub next_id: u64,
    /// The addition order of rule 5: monotonic, never wall-clock time.
    pub next_sequence: u64,
    #[serde(default)]
    pub environments: Vec<Environment>,
    #[serde(default)]
    pub credentials: Vec<Credential>,
    /// Per-registry TLS settings (`regcred tls`). Optional, so files written before it
    /// existed stay valid and a store without any keeps exactly its old form.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tls: Vec<TlsSetting>,
}

/// One environment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
}

/// One credential's metadata. The secret lives in the secret store named here.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    pub id: u64,
    pub environment: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Canonical scope: `docker.io`, `quay.io/myorg`, `registry.example.com:5000`.
    pub address: String,
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub active: bool,
    pub sequence: u64,
    /// Where the secret was put when the credential was added; reads always go there.
    #[serde(with = "secret_store_kind")]
    pub secret_store: SecretStoreKind,
    /// `--secret-from-env VAR`: no secret is kept anywhere; it is read from `VAR` at each
    /// use (CI secret variables). `secret_store` then only says where a secret entered
    /// later would go.
    #[serde(default, rename = "secret_from_env", skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub added: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated: OffsetDateTime,
}

/// How regcred talks TLS to one registry in one environment. No entry means: HTTPS, verified
/// against the system's CA certificates.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSetting {
    pub environment: String,
    /// Canonical `host[:port]` (never a scope: TLS belongs to the server).
    pub address: String,
    /// docker's insecure registry: HTTPS without verification, then plain HTTP.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    /// Certificates (PEM) trusted for this registry besides the system's: a private CA or a
    /// pinned self-signed certificate. Public data, so it lives here, not in a secret store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub updated: OffsetDateTime,
}

mod secret_store_kind {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use crate::secrets::SecretStoreKind;

    pub fn serialize<S: Serializer>(kind: &SecretStoreKind, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(kind)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SecretStoreKind, D::Error> {
        let word = String::deserialize(d)?;
        word.parse().map_err(|_| D::Error::custom(format!("unknown secret store {word:?}")))
    }
}

/// The current time, at the one-second precision the store and the JSON output use.
pub fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

impl Registries {
    /// A store as it is before anything was ever written: one environment, `default`.
    pub fn fresh() -> Self {
        Registries {
            version: SCHEMA_VERSION,
            store_id: random_id(),
            current_environment: DEFAULT_ENVIRONMENT.to_owned(),
            next_id: 1,
            next_sequence: 1,
            environments: vec![Environment { name: DEFAULT_ENVIRONMENT.to_owned(), created: now() }],
            credentials: Vec::new(),
            tls: Vec::new(),
        }
    }

    pub fn environment(&self, name: &str) -> Option<&Environment> {
        self.environments.iter().find(|e| e.name == name)
    }

    pub fn credentials_in<'a>(&'a self, environment: &'a str) -> impl Iterator<Item = &'a Credential> + 'a {
        self.credentials.iter().filter(move |c| c.environment == environment)
    }

    pub fn credential(&self, id: u64) -> Option<&Credential> {
        self.credentials.iter().find(|c| c.id == id)
    }

    pub fn credential_mut(&mut self, id: u64) -> Option<&mut Credential> {
        self.credentials.iter_mut().find(|c| c.id == id)
    }

    pub fn tls_in<'a>(&'a self, environment: &'a str) -> impl Iterator<Item = &'a TlsSetting> + 'a {
        self.tls.iter().filter(move |t| t.environment == environment)
    }

    pub fn tls_setting(&self, environment: &str, address: &str) -> Option<&TlsSetting> {
        self.tls.iter().find(|t| t.environment == environment && t.address == address)
    }

    /// Replaces the TLS setting of `setting.address` in its environment.
    pub fn set_tls(&mut self, setting: TlsSetting) {
        self.tls.retain(|t| !(t.environment == setting.environment && t.address == setting.address));
        self.tls.push(setting);
        self.tls.sort_by(|a, b| (&a.environment, &a.address).cmp(&(&b.environment, &b.address)));
    }

    /// Removes the TLS setting of `address`; whether there was one.
    pub fn unset_tls(&mut self, environment: &str, address: &str) -> bool {
        let before = self.tls.len();
        self.tls.retain(|t| !(t.environment == environment && t.address == address));
        self.tls.len() != before
    }

    /// Takes the next id and addition sequence.
    pub fn allocate(&mut self) -> (u64, u64) {
        let allocated = (self.next_id, self.next_sequence);
        self.next_id += 1;
        self.next_sequence += 1;
        allocated
    }

    /// Takes the next addition sequence alone: a credential that is added again (a repeated
    /// `docker login`) keeps its id but becomes the most recently added.
    pub fn next_sequence(&mut self) -> u64 {
        self.next_sequence += 1;
        self.next_sequence - 1
    }

    /// A new active credential with the next id and sequence, stamped now. It is not in the
    /// store until the caller pushes it (after its secret is stored).
    pub fn new_credential(&mut self, new: NewCredential) -> Credential {
        let (id, sequence) = self.allocate();
        let stamp = now();
        Credential {
            id,
            environment: new.environment,
            name: new.name,
            address: new.address,
            username: new.username,
            email: new.email,
            active: true,
            sequence,
            secret_store: new.secret_store,
            secret_env: None,
            added: stamp,
            updated: stamp,
        }
    }
}

/// What a caller decides about a new credential; ids, order and timestamps are the store's.
pub struct NewCredential {
    pub environment: String,
    pub name: Option<String>,
    /// Canonical scope.
    pub address: String,
    pub username: String,
    pub email: Option<String>,
    pub secret_store: SecretStoreKind,
}

impl Store {
    pub fn new(dir: PathBuf) -> Self {
        Store { dir }
    }

    /// `--config-dir`, else `$REGCRED_CONFIG_DIR` (both arrive through clap), else the
    /// platform's config dir.
    pub fn locate(explicit: Option<PathBuf>) -> Result<Self, Failure> {
        if let Some(dir) = explicit {
            return Ok(Store::new(dir));
        }
        match dirs::config_dir() {
            Some(dir) => Ok(Store::new(dir.join("regcred"))),
            None => Err(Failure::operational("cannot find a config directory for this user")
                .hint("pass --config-dir DIR or set REGCRED_CONFIG_DIR")),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn file(&self) -> PathBuf {
        self.dir.join(STORE_FILE)
    }

    pub fn lock_file(&self) -> PathBuf {
        self.dir.join(LOCK_FILE)
    }

    /// Creates the config dir (0700) if needed and takes the exclusive lock, waiting for
    /// other regcred processes to finish their writes.
    pub fn lock(&self) -> Result<StoreLock, Failure> {
        self.ensure_dir()?;
        let path = self.lock_file();
        let file = open_lock_file(&path).map_err(|e| io_failure("cannot open the lock file", &path, &e))?;
        file.lock().map_err(|e| io_failure("cannot lock", &path, &e))?;
        // Every writer of the config dir holds this lock from creating its temporary file
        // to renaming it, so any temporary file here now is a killed writer's; a leftover
        // of the secrets file holds secrets that may since have been deleted.
        for leftover in self.leftovers() {
            let _ = fs::remove_file(leftover);
        }
        Ok(StoreLock { _file: file })
    }

    /// Takes the lock shared, for a reader that needs the store and the secrets to agree
    /// (doctor): it waits for a writer to finish, and no writer starts while it reads.
    /// `None` when there is no config dir yet, or no lock file and no right to create one.
    pub fn lock_shared(&self) -> Result<Option<StoreLock>, Failure> {
        if !self.dir.is_dir() {
            return Ok(None);
        }
        let path = self.lock_file();
        let opened = open_lock_file(&path).or_else(|_| File::open(&path));
        let file = match opened {
            Ok(file) => file,
            Err(_) => return Ok(None),
        };
        file.lock_shared().map_err(|e| io_failure("cannot lock", &path, &e))?;
        Ok(Some(StoreLock { _file: file }))
    }

    /// Temporary files that writers killed mid-write left in the config dir. Only
    /// meaningful while holding the lock (shared or exclusive): then no write is under way.
    pub fn leftovers(&self) -> Vec<PathBuf> {
        let Ok(entries) = fs::read_dir(&self.dir) else { return Vec::new() };
        let mut found: Vec<PathBuf> = entries
            .flatten()
            .filter(|entry| {
                let name = entry.file_name();
                let name = name.to_string_lossy();
                let ours = (name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX))
                    || name.starts_with(crate::secrets::FILE_TEMP_PREFIX);
                ours && entry.file_type().is_ok_and(|t| t.is_file())
            })
            .map(|entry| entry.path())
            .collect();
        found.sort();
        found
    }

    fn ensure_dir(&self) -> Result<(), Failure> {
        if self.dir.is_dir() {
            return Ok(());
        }
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.dir)
            .map_err(|e| io_failure("cannot create the config directory", &self.dir, &e))?;
        // The umask may have narrowed or the parent chain may pre-exist; set it exactly.
        fs::set_permissions(&self.dir, fs::Permissions::from_mode(0o700))
            .map_err(|e| io_failure("cannot set permissions on", &self.dir, &e))
    }

    /// Reads the store. A missing file is a fresh store (nothing is written until a
    /// command changes something).
    pub fn load(&self) -> Result<Registries, Failure> {
        self.load_inner(None)
    }

    /// Reads the store keeping only the credentials `need` asks for (`resolve`, the
    /// helper's `get`): the rest is skipped before it is copied or parsed further. The result
    /// is for reading only; a command that saves loads the whole store under the lock.
    pub fn load_only(&self, need: &Need<'_>) -> Result<Registries, Failure> {
        self.load_inner(Some(need))
    }

    fn load_inner(&self, need: Option<&Need<'_>>) -> Result<Registries, Failure> {
        let path = self.file();
        let metadata = match fs::symlink_metadata(&path) {
            Ok(metadata) => metadata,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Registries::fresh()),
            Err(e) => return Err(io_failure("cannot read", &path, &e)),
        };
        check_regular_file(&path, &metadata)?;
        check_permissions(&path, &metadata)?;
        let text = fs::read_to_string(&path).map_err(|e| io_failure("cannot read", &path, &e))?;
        let mut registries = parse(&text, &path, need)?;
        if let Some(need) = need {
            // Only after the slow path; the scanner already dropped what is not needed.
            let environment = need.environment.unwrap_or(&registries.current_environment).to_owned();
            registries.credentials.retain(|c| c.environment == environment && (need.address)(&c.address));
        }
        Ok(registries)
    }

    /// Writes the store atomically: a temporary file in the same directory, fsync, rename,
    /// fsync of the directory. Requires the lock.
    pub fn save(&self, registries: &Registries, _lock: &StoreLock) -> Result<(), Failure> {
        let path = self.file();
        check_owner_writable(&path)?;
        let text = match scan::render(registries) {
            Some(text) => text,
            None => toml::to_string(registries)
                .map_err(|e| Failure::operational(format!("cannot serialize the store: {e}")))?,
        };
        write_atomically(&self.dir, &path, text.as_bytes())
    }
}

/// Opens (creating it 0600 if needed) the lock file; its content is never used.
fn open_lock_file(path: &Path) -> std::io::Result<File> {
    OpenOptions::new().read(true).write(true).create(true).truncate(false).mode(0o600).open(path)
}

/// Writes `bytes` to `path` (mode 0600) so that a reader sees either the old or the new
/// content, never a torn file.
pub fn write_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    write_atomically_with_mode(dir, path, bytes, 0o600)
}

/// [`write_atomically`] with another mode, for files other programs must read (a CA
/// certificate in certs.d, a registries.conf drop-in); never for anything secret.
pub fn write_atomically_with_mode(dir: &Path, path: &Path, bytes: &[u8], mode: u32) -> Result<(), Failure> {
    let fail = |what: &str, e: &std::io::Error| io_failure(what, path, e);
    let mut temp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .suffix(TEMP_SUFFIX)
        .permissions(fs::Permissions::from_mode(mode))
        .tempfile_in(dir)
        .map_err(|e| fail("cannot create a temporary file for", &e))?;
    // The mode given at creation is filtered by the umask; make it exact.
    fs::set_permissions(temp.path(), fs::Permissions::from_mode(mode))
        .map_err(|e| fail("cannot set permissions for", &e))?;
    temp.write_all(bytes).map_err(|e| fail("cannot write", &e))?;
    temp.as_file().sync_all().map_err(|e| fail("cannot flush", &e))?;
    temp.persist(path).map_err(|e| fail("cannot replace", &e.error))?;
    if let Ok(d) = File::open(dir) {
        // Makes the rename itself durable; not every file system supports it.
        let _ = d.sync_all();
    }
    Ok(())
}

/// The scanner for what regcred writes, else the `toml` crate (same value, same errors).
/// A whole store (no `need`) must also be consistent; `path` is only for messages.
pub(crate) fn parse(text: &str, path: &Path, need: Option<&Need<'_>>) -> Result<Registries, Failure> {
    let registries = match scan::parse(text, need) {
        Some(registries) => registries,
        None => match toml::from_str::<Registries>(text) {
            Ok(registries) => registries,
            Err(error) => {
                // A newer schema may not even deserialize into this one: say that, not "parse error".
                #[derive(Deserialize)]
                struct VersionOnly {
                    version: u32,
                }
                if let Ok(v) = toml::from_str::<VersionOnly>(text)
                    && v.version > SCHEMA_VERSION
                {
                    return Err(newer_version(path, v.version));
                }
                return Err(syntax_failure(path, text, &error));
            }
        },
    };
    if registries.version > SCHEMA_VERSION {
        return Err(newer_version(path, registries.version));
    }
    // Only a whole store can be checked; the commands that write always load it whole.
    if need.is_none()
        && let Some(what) = inconsistency(&registries)
    {
        return Err(Failure::operational(format!("{} is inconsistent: {what}", path.display())).hint(format!(
            "fix the file by hand or move it away; regcred never overwrites a file it cannot use ({})",
            path.display()
        )));
    }
    Ok(registries)
}

/// For the fuzzer (`crate::fuzzing`): wherever the scanner accepts a text, the `toml` crate
/// reads the same value from it, and the fast writer's text is the one `toml` writes.
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) fn check_scanner_agrees(text: &str) {
    let Some(fast) = scan::parse(text, None) else { return };
    let slow: Registries = toml::from_str(text)
        .unwrap_or_else(|e| panic!("the scanner accepts what the toml crate refuses ({e}):\n{text}"));
    assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "the scanner and the toml crate disagree on:\n{text}");
    if let Some(rendered) = scan::render(&fast) {
        assert_eq!(Some(rendered), toml::to_string(&fast).ok(), "the fast writer and the toml crate disagree");
    }
}

/// What a hand edit may have broken that regcred relies on: an id handed out twice would
/// make two credentials share one secret (and a new one overwrite an old one's).
fn inconsistency(registries: &Registries) -> Option<String> {
    use std::collections::HashSet;
    let mut environments = HashSet::new();
    for environment in &registries.environments {
        if !environments.insert(environment.name.as_str()) {
            return Some(format!("environment {:?} appears twice", environment.name));
        }
    }
    if !environments.contains(registries.current_environment.as_str()) {
        return Some(format!("the current environment {:?} is not listed", registries.current_environment));
    }
    let mut ids = HashSet::new();
    let mut names = HashSet::new();
    for c in &registries.credentials {
        if !ids.insert(c.id) {
            return Some(format!("credential id {} appears twice", c.id));
        }
        if c.id >= registries.next_id {
            return Some(format!("credential id {} is not below next_id = {}", c.id, registries.next_id));
        }
        if c.sequence >= registries.next_sequence {
            return Some(format!(
                "credential {} has sequence {}, not below next_sequence = {}",
                c.id, c.sequence, registries.next_sequence
            ));
        }
        if !environments.contains(c.environment.as_str()) {
            return Some(format!(
                "credential {} belongs to environment {:?}, which is not listed",
                c.id, c.environment
            ));
        }
        if let Some(name) = &c.name
            && !names.insert((c.environment.as_str(), name.as_str()))
        {
            return Some(format!("the name {name:?} is used twice in environment {:?}", c.environment));
        }
    }
    None
}

/// Turns a TOML error into `line L, column C: message` for the user.
pub fn syntax_failure(path: &Path, text: &str, error: &toml::de::Error) -> Failure {
    let place = error
        .span()
        .map(|span| {
            let (line, column) = line_column(text, span.start);
            format!("line {line}, column {column}: ")
        })
        .unwrap_or_default();
    Failure::operational(format!("cannot parse {}: {place}{}", path.display(), error.message())).hint(format!(
        "fix the file by hand or move it away; regcred never overwrites a file it cannot parse ({})",
        path.display()
    ))
}

fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text.as_bytes()[..offset.min(text.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
    (line, column)
}

fn newer_version(path: &Path, version: u32) -> Failure {
    Failure::operational(format!(
        "{} has schema version {version}, but this regcred understands only version {SCHEMA_VERSION} and below",
        path.display()
    ))
    .hint("upgrade regcred; the file was left untouched")
}

/// Refuses a symbolic link, a directory or anything else that is not a plain file where a
/// file of ours belongs: a save would replace a link rather than write through it, and a
/// FIFO would block the read for good.
pub fn check_regular_file(path: &Path, metadata: &fs::Metadata) -> Result<(), Failure> {
    let kind = metadata.file_type();
    if kind.is_file() {
        return Ok(());
    }
    let (what, hint) = if kind.is_symlink() {
        let target = fs::read_link(path).map(|t| t.display().to_string()).unwrap_or_else(|_| "?".into());
        (
            format!("a symbolic link (to {target})"),
            format!(
                "regcred replaces its files atomically and would replace the link; put the file itself at {} instead",
                path.display()
            ),
        )
    } else if kind.is_dir() {
        ("a directory".to_owned(), format!("move the directory {} out of the way", path.display()))
    } else {
        ("not a regular file".to_owned(), format!("move {} out of the way", path.display()))
    };
    Err(Failure::operational(format!("{} is {what}; regcred refuses to use it", path.display())).hint(hint))
}

/// Refuses to replace a file its owner made read-only (`chmod a-w`): a rename would
/// replace it all the same, against the owner's wish.
pub fn check_owner_writable(path: &Path) -> Result<(), Failure> {
    match fs::symlink_metadata(path) {
        Ok(metadata) if metadata.is_file() && metadata.permissions().mode() & 0o200 == 0 => {
            Err(Failure::operational(format!(
                "{} is read-only (mode {:04o}); regcred leaves it unchanged",
                path.display(),
                metadata.permissions().mode() & 0o7777
            ))
            .hint(format!("to allow changes again: chmod 600 {}", path.display())))
        }
        _ => Ok(()),
    }
}

/// Refuses a store others may change; warns about one others may read (it holds no secret,
/// but says where they are kept).
fn check_permissions(path: &Path, metadata: &fs::Metadata) -> Result<(), Failure> {
    let mode = metadata.permissions().mode();
    if mode & 0o044 != 0 && mode & 0o022 == 0 {
        crate::output::warn_readable_by_others(path, mode & 0o7777);
    }
    if mode & 0o022 != 0 {
        return Err(Failure::operational(format!(
            "{} is writable by other users (mode {:04o}); refusing to use it",
            path.display(),
            mode & 0o7777
        ))
        .hint(format!("check the file's content, then run: chmod 600 {}", path.display())));
    }
    Ok(())
}

pub fn io_failure(what: &str, path: &Path, error: &std::io::Error) -> Failure {
    Failure::operational(format!("{what} {}: {error}", path.display()))
}

/// 128 random bits as hex, from the standard library's randomly keyed hasher (no crate
/// needed for an identifier that only has to be unique).
fn random_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::with_capacity(32);
    for salt in 0..2u8 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u8(salt);
        hasher.write_u128(OffsetDateTime::now_utc().unix_timestamp_nanos() as u128);
        hasher.write_u32(std::process::id());
        out.push_str(&format!("{:016x}", hasher.finish()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_count_from_one() {
        let text = "version = 1\nstore_id = \n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 12), (2, 1));
        assert_eq!(line_column(text, 23), (2, 12));
    }

    #[test]
    fn fresh_store_round_trips_through_toml() {
        let fresh = Registries::fresh();
        let text = toml::to_string(&fresh).unwrap();
        let back = parse(&text, Path::new("x"), None).unwrap();
        assert_eq!(back.store_id, fresh.store_id);
        assert_eq!(back.current_environment, "default");
        assert_eq!(back.environments.len(), 1);
    }

    #[test]
    fn a_store_without_tls_settings_keeps_its_old_form() {
        let fresh = Registries::fresh();
        let text = toml::to_string(&fresh).unwrap();
        assert!(!text.contains("tls"), "{text}");
        let mut with_tls = fresh.clone();
        with_tls.set_tls(TlsSetting {
            environment: "default".into(),
            address: "127.0.0.1:5000".into(),
            insecure: true,
            ca_cert: None,
            updated: now(),
        });
        let text = toml::to_string(&with_tls).unwrap();
        let back = parse(&text, Path::new("x"), None).unwrap();
        assert!(back.tls_setting("default", "127.0.0.1:5000").is_some_and(|t| t.insecure));
    }

    #[test]
    fn the_fast_writer_leaves_stores_with_tls_settings_to_toml() {
        let mut registries = Registries::fresh();
        let (id, sequence) = registries.allocate();
        let stamp = now();
        registries.credentials.push(Credential {
            id,
            environment: "default".into(),
            name: None,
            address: "127.0.0.1:5000".into(),
            username: "ci".into(),
            email: None,
            active: true,
            sequence,
            secret_store: SecretStoreKind::File,
            secret_env: None,
            added: stamp,
            updated: stamp,
        });
        assert!(scan::render(&registries).is_some());
        registries.set_tls(TlsSetting {
            environment: "default".into(),
            address: "127.0.0.1:5000".into(),
            insecure: true,
            ca_cert: None,
            updated: stamp,
        });
        assert!(scan::render(&registries).is_none(), "the fast writer would drop the TLS settings");
    }

    #[test]
    fn random_ids_differ() {
        assert_ne!(random_id(), random_id());
        assert_eq!(random_id().len(), 32);
    }
}
