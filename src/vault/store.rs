//! `registries.toml`: where it lives, loading it, the advisory lock around every
//! read-modify-write ([`Store::transaction`]), atomic saves and the schema version. No
//! secret is ever written here.

use std::fs::{self, File};
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use serde::Deserialize;

use super::fs::{FsError, PrivateFile};
use super::secrets::{self, SecretError};
use super::{Patience, Warning, Warnings};

mod model;
mod scan;

pub(in crate::vault) use scan::STRING_STOP;

pub use model::{Credential, Environment, NewCredential, Registries, TlsSetting, now};
pub use scan::Need;

/// The newest schema version this binary writes and understands. Version 2: the file
/// secret store keeps its secrets in `secrets.d/`, which a regcred that knows only version 1
/// would not find (and its `doctor --fix` would remove the metadata of every credential
/// whose secret it misses), so it must refuse the store instead.
pub const SCHEMA_VERSION: u32 = 2;
/// The version of a store without `secrets.d/`: what every regcred reads, so a store an
/// older regcred may share (one committed to a CI repository) keeps being written as before.
pub const FIRST_VERSION: u32 = 1;
/// The environment a fresh store starts with.
pub const DEFAULT_ENVIRONMENT: &str = "default";

pub(crate) const STORE_FILE: &str = "registries.toml";
const LOCK_FILE: &str = "registries.lock";

/// The config directory and the files in it. Clones share the warnings, the patience and
/// the last reading.
#[derive(Clone)]
pub struct Store {
    dir: PathBuf,
    warnings: Warnings,
    patience: Patience,
    /// The last whole reading of `registries.toml` by [`Store::load`]: its bytes and what
    /// they parse to. A command that reads the store before it takes the lock (to report bad
    /// input before asking for a password or a confirmation) does not parse it again in its
    /// transaction when the file still holds exactly those bytes.
    last_read: Arc<Mutex<Option<LastRead>>>,
}

/// The bytes `registries.toml` held when read, and what they parse to.
type LastRead = (Vec<u8>, Registries);

/// What a reading of `registries.toml` does beside parsing it.
enum Reading {
    Plain,
    /// Keeps the bytes and what they parse to for the next transaction (`last_read`).
    Remember,
    /// Under the lock: what an earlier [`Reading::Remember`] kept, used instead of parsing
    /// when the file holds exactly those bytes.
    Reuse(Option<LastRead>),
}

/// Holding this means holding an advisory lock on the store (exclusive or shared);
/// dropping it releases the lock.
#[must_use]
pub struct StoreLock {
    _file: File,
}

/// Why the store could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error(transparent)]
    File(#[from] FsError),
    #[error("cannot use the lock file: {0}")]
    LockFile(FsError),
    #[error("cannot lock {}: {source}", path.display())]
    Lock {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "gave up after {} s waiting for the lock on {} held by {holder}",
        waited.as_secs(),
        path.display()
    )]
    LockTimeout { path: PathBuf, holder: String, waited: Duration },
    #[error("cannot find a config directory for this user")]
    NoConfigDir,
    #[error("cannot parse {}: {place}{message}", path.display())]
    Syntax { path: PathBuf, place: String, message: String },
    #[error(
        "{} has schema version {version}, but this regcred understands only version {SCHEMA_VERSION} and below",
        path.display()
    )]
    NewerVersion { path: PathBuf, version: u32 },
    #[error("{} is inconsistent: {what}", path.display())]
    Inconsistent { path: PathBuf, what: String },
    #[error("credential {id} in the store has a bad address: {error}")]
    BadAddress { id: u64, error: String },
    #[error("cannot serialize the store: {0}")]
    Serialize(String),
    /// Moving `secrets.toml` into `secrets.d/` (the first write of an older store) failed;
    /// the store is left as it was and reads as before.
    #[error("cannot move the secrets file into secrets.d: {0}")]
    Migration(SecretError),
}

impl StoreError {
    /// The `hint:` for the user, where one helps.
    pub fn hint(&self) -> Option<String> {
        match self {
            StoreError::File(e) | StoreError::LockFile(e) => e.hint(),
            StoreError::NoConfigDir => Some("pass --config-dir DIR or set REGCRED_CONFIG_DIR".into()),
            StoreError::LockTimeout { .. } => Some(
                "wait for the other regcred to finish, or stop it; REGCRED_TIMEOUT sets how many seconds to wait"
                    .into(),
            ),
            StoreError::Syntax { path, .. } => Some(format!(
                "fix the file by hand or move it away; regcred never overwrites a file it cannot parse ({})",
                path.display()
            )),
            StoreError::NewerVersion { .. } => Some("upgrade regcred; the file was left untouched".into()),
            StoreError::Inconsistent { path, .. } => Some(format!(
                "fix the file by hand or move it away; regcred never overwrites a file it cannot use ({})",
                path.display()
            )),
            StoreError::BadAddress { .. } => Some("fix registries.toml by hand or delete the credential".into()),
            StoreError::Migration(e) => e.hint(),
            StoreError::Lock { .. } | StoreError::Serialize(_) => None,
        }
    }
}

impl Store {
    pub fn new(dir: PathBuf, warnings: Warnings, patience: Patience) -> Self {
        Store { dir, warnings, patience, last_read: Arc::default() }
    }

    /// `--config-dir`, else `$REGCRED_CONFIG_DIR` (both arrive through clap), else the
    /// platform's config dir.
    pub fn locate(explicit: Option<PathBuf>, warnings: Warnings, patience: Patience) -> Result<Self, StoreError> {
        let dir = match explicit {
            Some(dir) => dir,
            None => dirs::config_dir().ok_or(StoreError::NoConfigDir)?.join("regcred"),
        };
        Ok(Store::new(dir, warnings, patience))
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

    /// Every file of the config dir that holds credentials (the store, the secrets file).
    pub fn private_files(&self) -> Vec<PathBuf> {
        super::CONFIG_FILES.iter().map(|name| self.dir.join(name)).collect()
    }

    /// The file store's directory, `secrets.d/`, one 0600 file per credential in it.
    pub fn secrets_dir(&self) -> PathBuf {
        self.dir.join(secrets::DIR_NAME)
    }

    pub(crate) fn warnings(&self) -> &Warnings {
        &self.warnings
    }

    pub(crate) fn patience(&self) -> &Patience {
        &self.patience
    }

    /// Locks the store, loads it whole and hands it over for changes; nothing is written
    /// until [`Tx::commit`], which saves exactly what was loaded under this lock.
    pub fn transaction(&self) -> Result<Tx, StoreError> {
        let lock = self.lock()?;
        let last_read = self.last_read.lock().unwrap_or_else(PoisonError::into_inner).take();
        let registries = self.load_inner(None, Reading::Reuse(last_read))?;
        Ok(Tx { store: self.clone(), registries, _lock: lock })
    }

    /// Creates the config dir (0700) if needed and takes the exclusive lock, waiting for
    /// other regcred processes to finish their writes (at most the patience's timeout).
    fn lock(&self) -> Result<StoreLock, StoreError> {
        self.ensure_dir()?;
        let path = self.lock_file();
        let file = super::fs::open_or_create_ours(&path, 0o600).map_err(StoreError::LockFile)?;
        self.wait_for_lock(&file, &path, false)?;
        // Every writer of the config dir holds this lock from creating its temporary file
        // to renaming it, so any temporary file here now is a killed writer's; a leftover
        // of the secrets file holds secrets that may since have been deleted.
        for leftover in self.leftovers() {
            let _ = fs::remove_file(leftover);
        }
        Ok(StoreLock { _file: file })
    }

    /// Takes the lock, polling, and says after a second what it waits for.
    fn wait_for_lock(&self, file: &File, path: &Path, shared: bool) -> Result<(), StoreError> {
        let started = Instant::now();
        let mut told = false;
        loop {
            let attempt = if shared { file.try_lock_shared() } else { file.try_lock() };
            match attempt {
                Ok(()) => return Ok(()),
                Err(fs::TryLockError::WouldBlock) => {}
                Err(fs::TryLockError::Error(source)) => {
                    return Err(StoreError::Lock { path: path.to_owned(), source });
                }
            }
            let waited = started.elapsed();
            if waited >= self.patience.timeout {
                return Err(StoreError::LockTimeout { path: path.to_owned(), holder: holder_of(file), waited });
            }
            if !told && waited >= self.patience.announce_after {
                self.patience.announce(&format!("waiting for the lock held by {}", holder_of(file)));
                told = true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Takes the lock shared, for a reader that needs the store and the secrets to agree
    /// (doctor): it waits for a writer to finish, and no writer starts while it reads.
    /// `None` when there is no config dir yet, or no lock file and no right to create one.
    pub fn lock_shared(&self) -> Result<Option<StoreLock>, StoreError> {
        if !self.dir.is_dir() {
            return Ok(None);
        }
        let path = self.lock_file();
        let file = match super::fs::open_or_create_ours(&path, 0o600) {
            Ok(file) => file,
            Err(FsError::Io { .. }) => match super::fs::open_no_follow(&path, false) {
                Ok(file) => file,
                Err(_) => return Ok(None),
            },
            Err(e) => return Err(StoreError::LockFile(e)),
        };
        self.wait_for_lock(&file, &path, true)?;
        Ok(Some(StoreLock { _file: file }))
    }

    /// Temporary files that writers killed mid-write left in the config dir: exactly the
    /// temporary names of the config dir's files, nothing else. Only meaningful while
    /// holding the lock (shared or exclusive): then no write is under way.
    pub fn leftovers(&self) -> Vec<PathBuf> {
        let mut found = super::fs::leftovers_in(&self.dir, &super::CONFIG_FILES, &super::LEGACY_TEMP_NAMES);
        found.extend(secrets::file_store_leftovers(&self.dir));
        found
    }

    fn ensure_dir(&self) -> Result<(), StoreError> {
        if !self.dir.is_dir() {
            create_private_dir(&self.dir)?;
        }
        self.check_dir()
    }

    /// Refuses a config dir another user owns or others may write (as ssh does): whoever
    /// can write there can plant a store, a lock file or a link.
    fn check_dir(&self) -> Result<(), StoreError> {
        let metadata = fs::metadata(&self.dir).map_err(|e| FsError::io("cannot read", &self.dir, e))?;
        super::fs::check_owner(&self.dir, &metadata)?;
        let mode = super::fs::mode_of(&metadata);
        if cfg!(unix) && mode & 0o022 != 0 {
            return Err(FsError::WritableByOthers { path: self.dir.clone(), mode }.into());
        }
        Ok(())
    }

    /// Reads the store. A missing file is a fresh store (nothing is written until a
    /// command changes something).
    pub fn load(&self) -> Result<Registries, StoreError> {
        self.load_inner(None, Reading::Remember)
    }

    /// Reads the store keeping only the credentials `need` asks for (`resolve`, the
    /// helper's `get`): the rest is skipped before it is copied or parsed further. The result
    /// is for reading only; a command that saves loads the whole store under the lock.
    pub fn load_only(&self, need: &Need<'_>) -> Result<Registries, StoreError> {
        self.load_inner(Some(need), Reading::Plain)
    }

    fn load_inner(&self, need: Option<&Need<'_>>, reading: Reading) -> Result<Registries, StoreError> {
        let path = self.file();
        if !self.dir.exists() {
            return Ok(Registries::fresh());
        }
        self.check_dir()?;
        let Some(mut contents) = PrivateFile::new(&path).read()? else {
            return Ok(Registries::fresh());
        };
        if contents.mode & 0o044 != 0 {
            // It holds no secret, but says where they are kept.
            self.warnings.push(Warning::ReadableByOthers { path: path.clone(), mode: contents.mode });
        }
        // The file holds no secret: its bytes move out of the wiping buffer, which would
        // otherwise zero 2.3 MB byte by byte at 10,000 credentials (3 M instructions).
        let bytes = std::mem::take(&mut *contents.bytes);
        let remember = matches!(reading, Reading::Remember);
        if let Reading::Reuse(Some((kept, registries))) = reading
            && kept == bytes
        {
            return Ok(registries);
        }
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            let invalid = std::io::Error::new(std::io::ErrorKind::InvalidData, "stream did not contain valid UTF-8");
            FsError::io("cannot read", &path, invalid)
        })?;
        let mut registries = parse(text, &path, need)?;
        if remember {
            *self.last_read.lock().unwrap_or_else(PoisonError::into_inner) = Some((bytes, registries.clone()));
        }
        if let Some(need) = need {
            // Only after the slow path; the scanner already dropped what is not needed.
            let environment = need.environment.unwrap_or(&registries.current_environment).to_owned();
            registries.credentials.retain(|c| c.environment == environment && (need.address)(&c.address));
        }
        Ok(registries)
    }

    /// The version a store is written with: [`SCHEMA_VERSION`] once `secrets.d/` exists,
    /// else [`FIRST_VERSION`].
    fn layout_version(&self) -> u32 {
        if fs::symlink_metadata(self.secrets_dir()).is_ok() { SCHEMA_VERSION } else { FIRST_VERSION }
    }

    /// Writes the store atomically, with the version its layout needs, moving an older
    /// store's `secrets.toml` into `secrets.d/` on the way. Only a transaction calls it,
    /// under its lock. The order makes every crash point safe: the secrets' files first
    /// (`secrets.toml` stays what is read while it exists), then this file with version 2
    /// (from then on an older regcred refuses the store), then `secrets.toml` goes.
    fn save(&self, registries: &mut Registries) -> Result<(), StoreError> {
        let migrated = secrets::migrate(&self.dir, &self.warnings).map_err(StoreError::Migration)?;
        registries.version = self.layout_version();
        self.write(registries)?;
        if migrated {
            secrets::finish_migration(&self.dir).map_err(StoreError::Migration)?;
        }
        Ok(())
    }

    fn write(&self, registries: &Registries) -> Result<(), StoreError> {
        let text = match scan::render(registries) {
            Some(text) => text,
            None => toml::to_string(registries).map_err(|e| StoreError::Serialize(e.to_string()))?,
        };
        PrivateFile::new(self.file()).replace(text.as_bytes())?;
        Ok(())
    }
}

/// The store locked and loaded whole: change it through `Deref`, then [`Tx::commit`].
/// Dropping it without committing changes nothing and releases the lock.
#[must_use]
pub struct Tx {
    store: Store,
    registries: Registries,
    _lock: StoreLock,
}

impl Tx {
    /// Saves what this transaction loaded and changed, then releases the lock.
    pub fn commit(mut self) -> Result<Registries, StoreError> {
        self.store.save(&mut self.registries)?;
        Ok(self.registries)
    }

    /// Saves without releasing the lock: for an operation that still has a step to take
    /// after the metadata is written (deleting secrets), under the same lock.
    pub fn save(&mut self) -> Result<(), StoreError> {
        self.store.save(&mut self.registries)
    }

    /// Releases the lock without saving; what was loaded stays readable.
    pub fn abandon(self) -> Registries {
        self.registries
    }
}

impl Deref for Tx {
    type Target = Registries;

    fn deref(&self) -> &Registries {
        &self.registries
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut Registries {
        &mut self.registries
    }
}

/// Who holds the lock on `file`, in words: "pid N" where the system says (Linux's
/// /proc/locks), else "another regcred process".
fn holder_of(file: &File) -> String {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        if let (Ok(metadata), Ok(locks)) = (file.metadata(), fs::read_to_string("/proc/locks")) {
            let inode = metadata.ino().to_string();
            for line in locks.lines().filter(|l| !l.contains("->")) {
                let fields: Vec<&str> = line.split_whitespace().collect();
                // `1: FLOCK  ADVISORY  WRITE 1234 08:01:5678 0 EOF`
                if let [_, "FLOCK", _, _, pid, device_inode, ..] = fields.as_slice()
                    && device_inode.rsplit(':').next() == Some(inode.as_str())
                    && pid.parse::<u32>().is_ok_and(|p| p != std::process::id())
                {
                    return format!("pid {pid}");
                }
            }
        }
    }
    let _ = file;
    "another regcred process".to_owned()
}

/// Creates a directory only its owner may enter (0700), set on the final directory
/// whatever the umask.
pub fn create_private_dir(dir: &Path) -> Result<(), FsError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(|e| FsError::io("cannot create the directory", dir, e))?;
    #[cfg(unix)]
    {
        // The umask may have narrowed it; the final directory is opened (never through a
        // link) and its mode set on the descriptor.
        let handle = rustix::fs::open(
            dir,
            rustix::fs::OFlags::DIRECTORY | rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::RDONLY,
            rustix::fs::Mode::empty(),
        )
        .map_err(|e| FsError::io("cannot open the directory", dir, e.into()))?;
        rustix::fs::fchmod(&handle, rustix::fs::Mode::from_raw_mode(0o700))
            .map_err(|e| FsError::io("cannot set permissions on", dir, e.into()))?;
    }
    Ok(())
}

/// The scanner for what regcred writes, else the `toml` crate (same value, same errors).
/// A whole store (no `need`) must also be consistent; `path` is only for messages.
pub(crate) fn parse(text: &str, path: &Path, need: Option<&Need<'_>>) -> Result<Registries, StoreError> {
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
                    return Err(StoreError::NewerVersion { path: path.to_owned(), version: v.version });
                }
                let place = error.span().map(|span| place(text.as_bytes(), span.start)).unwrap_or_default();
                return Err(StoreError::Syntax { path: path.to_owned(), place, message: error.message().to_owned() });
            }
        },
    };
    if registries.version > SCHEMA_VERSION {
        return Err(StoreError::NewerVersion { path: path.to_owned(), version: registries.version });
    }
    // Only a whole store can be checked; the commands that write always load it whole.
    if need.is_none()
        && let Some(what) = model::inconsistency(&registries)
    {
        return Err(StoreError::Inconsistent { path: path.to_owned(), what });
    }
    Ok(registries)
}

/// `line L, column C: ` of a byte offset, for messages.
fn place(bytes: &[u8], offset: usize) -> String {
    let (line, column) = super::fs::line_column(bytes, offset);
    format!("line {line}, column {column}: ")
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::vault::secrets::SecretStoreKind;

    /// A store in `dir` with one environment more than a fresh one, written by a commit.
    fn written_store(dir: &Path) -> Store {
        let store = Store::new(dir.to_owned(), Warnings::default(), Patience::default());
        let mut tx = store.transaction().unwrap();
        tx.environments.push(model::Environment { name: "staging".into(), created: now() });
        tx.commit().unwrap();
        store
    }

    /// Marks the reading `load` kept, so a transaction that reuses it shows it.
    fn mark_last_read(store: &Store) {
        let mut last_read = store.last_read.lock().unwrap();
        last_read.as_mut().expect("load kept its reading").1.current_environment = "marked".into();
    }

    #[test]
    fn a_transaction_reuses_the_reading_of_an_unchanged_file_and_only_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = written_store(dir.path());
        store.load().unwrap();
        mark_last_read(&store);
        let tx = store.transaction().unwrap();
        assert_eq!(tx.current_environment, "marked", "the reading was not reused");
        drop(tx);
        // Taken by that transaction: the next one reads the file.
        assert_eq!(store.transaction().unwrap().current_environment, "default");
        // Partial readings (resolve) are never kept.
        let need = Need { environment: None, address: &|_| true };
        store.load_only(&need).unwrap();
        assert!(store.last_read.lock().unwrap().is_none());
    }

    #[test]
    fn a_transaction_reads_afresh_what_changed_after_the_reading_even_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let store = written_store(dir.path());
        store.load().unwrap();
        mark_last_read(&store);
        // Changed in place, same size, mtime put back: only the bytes tell.
        let path = store.file();
        let mtime = fs::metadata(&path).unwrap().modified().unwrap();
        let text = fs::read_to_string(&path).unwrap().replace("name = \"staging\"", "name = \"stagin2\"");
        let file = fs::OpenOptions::new().write(true).open(&path).unwrap();
        std::io::Write::write_all(&mut &file, text.as_bytes()).unwrap();
        file.set_modified(mtime).unwrap();
        drop(file);
        let tx = store.transaction().unwrap();
        assert_eq!(tx.current_environment, "default", "a stale reading was reused");
        assert!(tx.environment("stagin2").is_some());
        // And a clone of the store (the vault's) shares the reading.
        drop(tx);
        store.load().unwrap();
        mark_last_read(&store);
        assert_eq!(store.clone().transaction().unwrap().current_environment, "marked");
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
}
