//! `registries.toml`: where it lives, loading it, the advisory lock around every
//! read-modify-write ([`Store::transaction`]), atomic saves and the schema version. No
//! secret is ever written here.

use std::fs::{self, File};
use std::ops::{Deref, DerefMut};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use regcred_core::{RegistryAddress, Scope};
use serde::Deserialize;

use super::fs::{Buffer, FsError, PrivateFile};
use super::secrets::{self, SecretError};
use super::{Patience, Warning, Warnings};

mod journal;
mod model;
mod scan;

pub(in crate::vault) use scan::STRING_STOP;

pub use journal::{JOURNAL_FROM, MAX_RECORDS};
pub use model::{Credential, Environment, NewCredential, Registries, TlsSetting, now};
pub use scan::Need;

/// The newest schema version this binary writes and understands: [`SUMMED_JOURNAL_VERSION`].
pub const SCHEMA_VERSION: u32 = SUMMED_JOURNAL_VERSION;
/// A big store with a journal (`registries.journal`, see `journal.rs`) whose header carries
/// the sum of `registries.toml`. A regcred that knows only version 2 would read
/// `registries.toml` without the changes in the journal, and its next write would lose them,
/// so it must refuse the store instead. Version 3 was the same journal without the sum in its
/// header, which a regcred that knows only version 3 would take for damage: this version
/// makes it say that the store is newer instead. A version-3 store is read as before, and its
/// first write writes it whole as version 4.
pub const SUMMED_JOURNAL_VERSION: u32 = 4;
/// The file secret store keeps its secrets in `secrets.d/`, which a regcred that knows only
/// version 1 would not find (and its `doctor --fix` would remove the metadata of every
/// credential whose secret it misses), so it must refuse the store instead.
pub const SECRETS_DIR_VERSION: u32 = 2;
/// The version of a store without `secrets.d/`: what every regcred reads, so a store an
/// older regcred may share (one committed to a CI repository) keeps being written as before.
pub const FIRST_VERSION: u32 = 1;
/// The environment a fresh store starts with.
pub const DEFAULT_ENVIRONMENT: &str = "default";

pub(crate) const STORE_FILE: &str = "registries.toml";
pub(crate) use journal::JOURNAL_FILE;
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
    last_read: Arc<Mutex<Option<Box<LastRead>>>>,
}

/// The bytes `registries.toml` and its journal held when read, and what they parse to.
struct LastRead {
    base: Buffer,
    journal_bytes: Option<Vec<u8>>,
    /// What the reading kept: `None`, everything.
    wants: Option<Wants>,
    loaded: Loaded,
}

/// Which credentials a write needs, for the partial reading of a big store: those of the
/// environment with one of these ids, names or exact addresses, or on one of these
/// registries. Owned and comparable, so that a transaction takes over the command's earlier
/// reading made for the same wants.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Wants {
    /// `None`: the store's current environment.
    pub environment: Option<String>,
    pub ids: Vec<u64>,
    pub names: Vec<String>,
    /// Canonical addresses, scope included, compared exactly.
    pub addresses: Vec<String>,
    /// Every credential of these registries, whatever its scope.
    pub registries: Vec<RegistryAddress>,
}

impl Wants {
    fn address(&self, address: &str) -> bool {
        self.addresses.iter().any(|a| a == address)
            || self.registries.iter().any(|r| Scope::may_have_address(address, r))
    }

    fn id_or_name(&self, id: u64, name: Option<&str>) -> bool {
        self.ids.contains(&id) || name.is_some_and(|n| self.names.iter().any(|w| w == n))
    }
}

/// One reading of the store: what it holds, with its journal's changes in, and that journal
/// (a transaction appends after its end).
#[derive(Clone)]
struct Loaded {
    registries: Registries,
    journal: Option<journal::Journal>,
    /// For a store with a journal: the sum of the `registries.toml` read, which a journal
    /// that a write starts vouches for, when the scanner read every line of it and found
    /// them good (or the journal vouched for it already).
    base: Option<journal::Sum>,
}

/// How many times a reader without the lock reads again when a compaction replaced
/// `registries.toml` between its reading of that file and of the journal.
const READ_ATTEMPTS: usize = 3;

/// What a reading of `registries.toml` does beside parsing it.
enum Reading {
    Plain,
    /// Keeps the bytes and what they parse to for the next transaction (`last_read`), with
    /// the wants of a partial reading.
    Remember(Option<Wants>),
    /// Under the lock: what an earlier [`Reading::Remember`] kept, used instead of parsing
    /// when the file holds exactly those bytes.
    Reuse(Option<Box<LastRead>>),
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

    pub fn journal_file(&self) -> PathBuf {
        self.dir.join(JOURNAL_FILE)
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
        let kept = self.last_read.lock().unwrap_or_else(PoisonError::into_inner).take();
        let loaded = self.load_inner(None, Reading::Reuse(kept.filter(|k| k.wants.is_none())), false)?;
        Ok(Tx::new(self, loaded, lock, false))
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
        super::fs::temp_files_in(&self.dir, |name| {
            super::fs::is_temp_name(name, &super::CONFIG_FILES, &super::LEGACY_TEMP_NAMES)
                || secrets::is_staged_secret(name)
        })
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
        Ok(self.load_inner(None, Reading::Remember(None), false)?.registries)
    }

    /// Reads the store keeping only the credentials `need` asks for (`resolve`, the
    /// helper's `get`): the rest is skipped before it is copied or parsed further. The result
    /// is for reading only; a command that saves reads with [`Store::transaction`] or
    /// [`Store::transaction_for`].
    pub fn load_only(&self, need: &Need<'_>) -> Result<Registries, StoreError> {
        Ok(self.load_inner(Some(need), Reading::Plain, false)?.registries)
    }

    /// Reads the store for a write that will need only `wants` (the command's reading before
    /// it asks for a password or a confirmation): a store with a journal keeps only those
    /// credentials, any other is read whole,
    /// and [`Store::transaction_for`] with the same wants takes this reading over when the
    /// files did not change. What a partial reading lacks (another environment's credential
    /// of that id, a name's near misses) the caller finds with [`Store::load`].
    pub fn load_for(&self, wants: &Wants) -> Result<Registries, StoreError> {
        self.with_need(wants, |need| {
            Ok(self.load_inner(Some(need), Reading::Remember(Some(wants.clone())), true)?.registries)
        })
    }

    /// [`Store::transaction`] for a write that changes only credentials and needs only
    /// `wants`: a big store with a journal is read partially, and the transaction must end in
    /// [`Tx::commit_credentials`] or [`Tx::save_credentials`]. Any other store is read whole.
    pub fn transaction_for(&self, wants: &Wants) -> Result<Tx, StoreError> {
        let lock = self.lock()?;
        let kept = self.last_read.lock().unwrap_or_else(PoisonError::into_inner).take();
        let kept = kept.filter(|k| k.wants.as_ref() == Some(wants));
        let loaded = self.with_need(wants, |need| self.load_inner(Some(need), Reading::Reuse(kept), true))?;
        // Only a store with a journal is read partially (see `read_once`).
        let partial = loaded.registries.journal.is_some();
        Ok(Tx::new(self, loaded, lock, partial))
    }

    fn with_need<T>(
        &self,
        wants: &Wants,
        then: impl FnOnce(&Need<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let address = |a: &str| wants.address(a);
        let id_or_name = |id: u64, name: Option<&str>| wants.id_or_name(id, name);
        then(&Need { environment: wants.environment.as_deref(), address: &address, id_or_name: Some(&id_or_name) })
    }

    /// Reads `registries.toml` and replays its journal. A reader without the lock may see a
    /// compaction replace the file between the two readings; it reads again, and after
    /// [`READ_ATTEMPTS`] under the shared lock, where no writer runs.
    /// `for_write`: `need` is a write's ([`Store::load_for`], [`Store::transaction_for`]),
    /// which reads a store without a journal whole, since it will be written whole.
    fn load_inner(&self, need: Option<&Need<'_>>, reading: Reading, for_write: bool) -> Result<Loaded, StoreError> {
        let (remember, mut reuse, locked) = match reading {
            Reading::Plain => (None, None, false),
            Reading::Remember(wants) => (Some(wants), None, false),
            // Under the exclusive lock: nothing changes between the two readings.
            Reading::Reuse(kept) => (None, kept, true),
        };
        for attempt in 0..=READ_ATTEMPTS {
            let certain = locked || attempt == READ_ATTEMPTS;
            let _shared = if certain && !locked { self.lock_shared()? } else { None };
            if let Some(loaded) = self.read_once(need, for_write, remember.clone(), reuse.take(), certain)? {
                return Ok(loaded);
            }
        }
        // Not reached: a reading under a lock is never read again.
        Err(StoreError::Inconsistent { path: self.file(), what: "it kept changing while read".into() })
    }

    /// One reading. `None` when `certain` is false and a compaction replaced
    /// `registries.toml` while it was read (read again); `certain`: under a lock.
    fn read_once(
        &self,
        need: Option<&Need<'_>>,
        for_write: bool,
        remember: Option<Option<Wants>>,
        reuse: Option<Box<LastRead>>,
        certain: bool,
    ) -> Result<Option<Loaded>, StoreError> {
        let path = self.file();
        let fresh = || Ok(Some(Loaded { registries: Registries::fresh(), journal: None, base: None }));
        if !self.dir.exists() {
            return fresh();
        }
        self.check_dir()?;
        if let Some(kept) = reuse {
            // Under the lock: the earlier reading is taken over when both files still hold
            // exactly its bytes, compared without reading the store into a second buffer.
            if PrivateFile::new(&path).holds(&kept.base)? == Some(true) {
                let journal_bytes = match kept.loaded.registries.journal {
                    Some(_) => self.read_journal()?,
                    None => None,
                };
                if journal_bytes == kept.journal_bytes {
                    return Ok(Some(kept.loaded));
                }
            }
        }
        let Some(contents) = PrivateFile::new(&path).read_unsecret()? else {
            return fresh();
        };
        if contents.mode & 0o044 != 0 {
            // It holds no secret, but says where they are kept.
            self.warnings.push(Warning::ReadableByOthers { path: path.clone(), mode: contents.mode });
        }
        let bytes = contents.bytes;
        let text = std::str::from_utf8(&bytes).map_err(|_| {
            let invalid = std::io::Error::new(std::io::ErrorKind::InvalidData, "stream did not contain valid UTF-8");
            FsError::io("cannot read", &path, invalid)
        })?;
        // The journal before the store is parsed: its header may vouch for these bytes. It
        // is read after them, as before, so a compaction in between is still found by
        // `replaced` below; what cannot be read matters only to a store with a journal.
        let journal_read = self.read_journal();
        let parsed = match &journal_read {
            Ok(Some(bytes)) => Some(journal::parse(bytes)),
            _ => None,
        };
        let vouched_by = match &parsed {
            Some(Ok(Some(found))) => found.base.filter(|sum| sum.matches(&bytes)),
            _ => None,
        };
        let (mut registries, scanned) = parse_text(text, &path, need, vouched_by.is_some())?;
        let mut need = need;
        if for_write && need.is_some() && registries.journal.is_none() {
            // A write to a store without a journal writes it whole: parse it whole from the
            // same bytes rather than read the file again in the transaction.
            registries = parse(text, &path, None, false)?;
            need = None;
        }
        // What a journal a write starts vouches for: these bytes, read whole by the scanner
        // (every line of them in its subset) and found good, or vouched for already.
        let base = match registries.journal {
            Some(_) => vouched_by.or_else(|| scanned.then(|| journal::Sum::of(&bytes))),
            None => None,
        };
        let journal_bytes = match registries.journal {
            Some(_) => journal_read?,
            None => None,
        };
        let environment = need.map(|n| n.environment.unwrap_or(&registries.current_environment).to_owned());
        let mut journal = None;
        if registries.journal.is_some() {
            match parsed.unwrap_or(Ok(None)) {
                Ok(Some(mut found)) if found.belongs_to(&registries) => {
                    let keep = |c: &Credential| match (need, &environment) {
                        (Some(need), Some(environment)) => {
                            c.environment == *environment && need.keeps(c.id, c.name.as_deref(), &c.address)
                        }
                        _ => true,
                    };
                    for record in std::mem::take(&mut found.records) {
                        record.apply(&mut registries, &keep);
                    }
                    if need.is_none()
                        && found.count > 0
                        && let Some(what) = model::inconsistency(&registries)
                    {
                        return Err(StoreError::Inconsistent { path: self.journal_file(), what });
                    }
                    journal = Some(found);
                }
                // No journal, a stale one, or one damaged: unless a compaction replaced
                // registries.toml meanwhile, there is nothing to replay (or the damage is real).
                _ if !certain && self.replaced(&path, contents.identity) => return Ok(None),
                Err(what) => return Err(StoreError::Inconsistent { path: self.journal_file(), what }),
                Ok(_) => {}
            }
        }
        let loaded = Loaded { registries, journal, base };
        if let Some(wants) = remember {
            let kept = Box::new(LastRead { base: bytes, journal_bytes, wants, loaded: loaded.clone() });
            *self.last_read.lock().unwrap_or_else(PoisonError::into_inner) = Some(kept);
        }
        let mut loaded = loaded;
        if let (Some(need), Some(environment)) = (need, environment) {
            // Only after the slow path; the scanner already dropped what is not needed.
            loaded
                .registries
                .credentials
                .retain(|c| c.environment == environment && need.keeps(c.id, c.name.as_deref(), &c.address));
        }
        Ok(Some(loaded))
    }

    /// The journal's bytes; `None` when there is none.
    fn read_journal(&self) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(PrivateFile::new(self.journal_file()).read_unsecret()?.map(|c| c.bytes.into_vec()))
    }

    /// Whether `path` names another file than the one read (device and inode `identity`).
    fn replaced(&self, path: &Path, identity: (u64, u64)) -> bool {
        fs::symlink_metadata(path).map_or(true, |m| super::fs::identity_of(&m) != identity)
    }

    /// The version a store is written with: [`SCHEMA_VERSION`] once `secrets.d/` exists,
    /// else [`FIRST_VERSION`].
    fn layout_version(&self) -> u32 {
        if fs::symlink_metadata(self.secrets_dir()).is_ok() { SECRETS_DIR_VERSION } else { FIRST_VERSION }
    }

    /// Writes the store atomically, with the version its layout needs, moving an older
    /// store's `secrets.toml` into `secrets.d/` on the way. Only a transaction calls it,
    /// under its lock. The order makes every crash point safe: the secrets' files first
    /// (`secrets.toml` stays what is read while it exists), then this file with version 2
    /// (from then on an older regcred refuses the store), then `secrets.toml` goes.
    ///
    /// A big store ([`JOURNAL_FROM`] credentials or more) is written with the next journal
    /// generation, and the journal, whose changes are all in it now, is replaced after it by
    /// an empty one of that generation that vouches for the bytes just written: a crash in
    /// between leaves a journal of an older generation, which no one replays.
    /// Returns what the journal it started vouches for.
    fn save(&self, registries: &mut Registries) -> Result<Option<journal::Sum>, StoreError> {
        let migrated = secrets::migrate(&self.dir, &self.warnings).map_err(StoreError::Migration)?;
        registries.journal = if registries.credentials.len() >= JOURNAL_FROM {
            // Past any journal on disk too, even one left by a store that was big before.
            let on_disk = self.read_journal().ok().flatten().and_then(|b| journal::generation_of(&b));
            Some(registries.journal.max(on_disk).unwrap_or(0) + 1)
        } else {
            None
        };
        registries.version = if registries.journal.is_some() { SCHEMA_VERSION } else { self.layout_version() };
        let written = self.write(registries)?;
        // Committed now. A journal that cannot be replaced or removed (a directory planted in
        // its place) is of an older generation, or beside a store without one: never read.
        // Failing here would make the caller undo a write that took place.
        let path = self.journal_file();
        let _ = match registries.journal {
            Some(_) => journal::start(&path, registries, written),
            None => journal::remove(&path),
        };
        if migrated {
            secrets::finish_migration(&self.dir).map_err(StoreError::Migration)?;
        }
        Ok(written)
    }

    /// Writes `registries.toml` whole. Returns the sum of what it wrote when a journal may
    /// vouch for it: the scanner's subset (see [`scan::parse_vouched`]), not `toml`'s text.
    fn write(&self, registries: &Registries) -> Result<Option<journal::Sum>, StoreError> {
        let (text, scanned) = match scan::render(registries) {
            Some(text) => (text, true),
            None => (toml::to_string(registries).map_err(|e| StoreError::Serialize(e.to_string()))?, false),
        };
        PrivateFile::new(self.file()).replace(text.as_bytes())?;
        Ok(scanned.then(|| journal::Sum::of(text.as_bytes())))
    }
}

/// The store locked and loaded (whole, or for [`Store::transaction_for`] what it wants):
/// change it through `Deref`, then [`Tx::commit`]. Dropping it without committing changes
/// nothing and releases the lock.
#[must_use]
pub struct Tx {
    store: Store,
    registries: Registries,
    /// The journal replayed into `registries`, if it has one.
    journal: Option<journal::Journal>,
    /// The sum of the `registries.toml` read, for a journal this transaction starts.
    base: Option<journal::Sum>,
    /// Only the credentials a write wants were read (a big store with a journal): only
    /// [`Tx::save_credentials`] saves it, reading the rest first when it must write whole.
    partial: bool,
    /// What besides credentials the store held when loaded: a change there is written whole.
    shape: Shape,
    /// The credentials as loaded, to check that [`Tx::commit_credentials`] was told every
    /// credential that changed (debug builds: the tests).
    #[cfg(debug_assertions)]
    before: Vec<Credential>,
    _lock: StoreLock,
}

/// Everything of a store but its credentials and counters (a few environments and TLS
/// settings), in words.
#[derive(PartialEq)]
struct Shape(String);

impl Shape {
    fn of(registries: &Registries) -> Shape {
        Shape(format!("{} {:?} {:?}", registries.current_environment, registries.environments, registries.tls))
    }
}

impl Tx {
    fn new(store: &Store, loaded: Loaded, lock: StoreLock, partial: bool) -> Tx {
        let Loaded { registries, journal, base } = loaded;
        Tx {
            store: store.clone(),
            base,
            shape: Shape::of(&registries),
            #[cfg(debug_assertions)]
            before: registries.credentials.clone(),
            registries,
            journal,
            partial,
            _lock: lock,
        }
    }

    /// Saves what this transaction loaded and changed (writing the store whole), then
    /// releases the lock.
    pub fn commit(mut self) -> Result<Registries, StoreError> {
        self.save()?;
        Ok(self.registries)
    }

    /// Saves without releasing the lock: for an operation that still has a step to take
    /// after the metadata is written (deleting secrets), under the same lock.
    pub fn save(&mut self) -> Result<(), StoreError> {
        if self.partial {
            // Not reached: the writes that read partially save with `save_credentials`.
            let what = "a partial reading cannot be written whole".to_owned();
            return Err(StoreError::Inconsistent { path: self.store.file(), what });
        }
        // A later save of this transaction starts a journal again, for the file written now.
        self.journal = None;
        self.base = self.store.save(&mut self.registries)?;
        Ok(())
    }

    /// [`Tx::commit`] for a transaction that added, changed or removed exactly the
    /// credentials `ids` (and took ids or sequence numbers): a big store appends one record
    /// to its journal instead of being written whole.
    pub fn commit_credentials(mut self, ids: &[u64]) -> Result<Registries, StoreError> {
        self.save_credentials(ids)?;
        Ok(self.registries)
    }

    /// [`Tx::save`] for a transaction that changed exactly the credentials `ids`.
    pub fn save_credentials(&mut self, ids: &[u64]) -> Result<(), StoreError> {
        #[cfg(debug_assertions)]
        self.check_only_changed(ids);
        let record = journal::Record {
            next_id: self.registries.next_id,
            next_sequence: self.registries.next_sequence,
            put: ids.iter().filter_map(|&id| self.registries.credential(id)).cloned().collect(),
            delete: ids.iter().copied().filter(|&id| self.registries.credential(id).is_none()).collect(),
        };
        let appends = self.registries.journal.is_some()
            // A version-3 store is written whole once, as version 4 (see SUMMED_JOURNAL_VERSION).
            && self.registries.version == SCHEMA_VERSION
            && (self.partial || self.registries.credentials.len() >= JOURNAL_FROM)
            && self.journal.as_ref().is_none_or(|j| j.count < MAX_RECORDS)
            && self.shape == Shape::of(&self.registries)
            // An older store's secrets file moves into secrets.d/ with a whole write.
            && fs::symlink_metadata(self.store.dir.join(secrets::FILE_NAME)).is_err();
        if appends {
            let path = self.store.journal_file();
            let journal = journal::append(&path, &self.registries, self.journal.take(), self.base, &record)?;
            self.journal = Some(journal);
            return Ok(());
        }
        if self.partial {
            // Written whole (the journal is full, or more than credentials changed): the
            // rest of the store is read under the same lock and this transaction's changes
            // put into it.
            let mut whole = self.store.load_inner(None, Reading::Reuse(None), false)?.registries;
            record.apply(&mut whole, &|_| true);
            whole.current_environment.clone_from(&self.registries.current_environment);
            whole.environments.clone_from(&self.registries.environments);
            whole.tls.clone_from(&self.registries.tls);
            self.registries = whole;
            self.partial = false;
        }
        self.save()
    }

    /// Panics when a credential not in `ids` changed: its change would be lost to a
    /// journal record.
    #[cfg(debug_assertions)]
    fn check_only_changed(&self, ids: &[u64]) {
        let others = |list: &[Credential]| -> Vec<String> {
            list.iter().filter(|c| !ids.contains(&c.id)).map(|c| format!("{c:?}")).collect()
        };
        assert_eq!(others(&self.before), others(&self.registries.credentials), "changed credentials not in {ids:?}");
    }

    /// Whether only what a write wants was read ([`Store::transaction_for`] of a big store).
    pub fn is_partial(&self) -> bool {
        self.partial
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
/// `vouched`: see [`scan::parse_vouched`].
pub(crate) fn parse(text: &str, path: &Path, need: Option<&Need<'_>>, vouched: bool) -> Result<Registries, StoreError> {
    Ok(parse_text(text, path, need, vouched)?.0)
}

/// [`parse`], and whether the scanner read it (else `toml` did).
fn parse_text(
    text: &str,
    path: &Path,
    need: Option<&Need<'_>>,
    vouched: bool,
) -> Result<(Registries, bool), StoreError> {
    let scanned = if vouched { scan::parse_vouched(text, need) } else { scan::parse(text, need) };
    let scanner = scanned.is_some();
    let registries = match scanned {
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
    Ok((registries, scanner))
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
        last_read.as_mut().expect("load kept its reading").loaded.registries.current_environment = "marked".into();
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
        let need = Need { environment: None, address: &|_| true, id_or_name: None };
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
        let back = parse(&text, Path::new("x"), None, false).unwrap();
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
        let back = parse(&text, Path::new("x"), None, false).unwrap();
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

#[cfg(test)]
mod journal_tests {
    use super::*;
    use crate::vault::secrets::SecretStoreKind;

    fn credential(registries: &mut Registries, address: &str) -> Credential {
        let mut c = registries.new_credential(NewCredential {
            environment: "default".into(),
            name: None,
            address: address.into(),
            username: "ci".into(),
            email: None,
            secret_store: SecretStoreKind::File,
        });
        c.secret_env = Some("TOKEN".into());
        c
    }

    /// A store of `n` credentials, written whole by one commit.
    fn store_of(dir: &Path, n: usize) -> Store {
        let store = Store::new(dir.to_owned(), Warnings::default(), Patience::default());
        let mut tx = store.transaction().unwrap();
        for i in 0..n {
            let c = credential(&mut tx, &format!("r{i}.example.com"));
            tx.credentials.push(c);
        }
        tx.commit().unwrap();
        store
    }

    /// Adds one credential through the journal path; returns its id.
    fn add(store: &Store, address: &str) -> u64 {
        let mut tx = store.transaction().unwrap();
        let c = credential(&mut tx, address);
        let id = c.id;
        tx.credentials.push(c);
        tx.commit_credentials(&[id]).unwrap();
        id
    }

    fn ids(registries: &Registries) -> Vec<u64> {
        registries.credentials.iter().map(|c| c.id).collect()
    }

    #[test]
    fn the_lock_sweeps_the_temporary_files_of_the_config_files_and_of_staged_secrets_only() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_of(dir.path(), 1);
        // In sorted order, as listed.
        let swept = [
            ".regcred-Mn7oPq.tmp",
            ".registries.journal.Gh5iJk.tmp",
            ".registries.toml.Ab3dEf.tmp",
            ".secrets.d-7.toml.Ab3dEf.tmp",
            ".secrets.toml.Rs9tUv",
        ];
        let kept = [".registries.toml.bak", ".secrets.d-07.toml.Ab3dEf.tmp", ".secrets.d-7.toml.tmp", "notes.txt"];
        for name in swept.iter().chain(&kept) {
            fs::write(dir.path().join(name), b"x").unwrap();
        }
        assert_eq!(store.leftovers(), swept.map(|name| dir.path().join(name)));
        store.transaction().unwrap().abandon();
        assert!(store.leftovers().is_empty());
        for name in kept {
            assert!(dir.path().join(name).exists(), "{name} was swept");
        }
        assert_eq!(ids(&store.load().unwrap()), [1]);
    }

    #[test]
    fn a_small_store_is_written_whole_with_no_journal() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_of(dir.path(), 3);
        add(&store, "quay.io");
        assert!(!store.journal_file().exists());
        let text = fs::read_to_string(store.file()).unwrap();
        assert!(text.contains("quay.io") && !text.contains("journal"), "{text}");
        assert_eq!(store.load().unwrap().version, FIRST_VERSION);
    }

    #[test]
    fn a_big_store_appends_changes_to_its_journal_and_every_reading_replays_them() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_of(dir.path(), JOURNAL_FROM);
        let base = fs::read(store.file()).unwrap();
        let text = String::from_utf8(base.clone()).unwrap();
        assert!(text.starts_with("version = 4\n") && text.contains("\njournal = 1\n"), "{}", &text[..200]);
        let new = add(&store, "quay.io");
        // Deactivate one, remove another: one record each.
        let mut tx = store.transaction().unwrap();
        tx.credential_mut(2).unwrap().active = false;
        tx.commit_credentials(&[2]).unwrap();
        let mut tx = store.transaction().unwrap();
        tx.credentials.retain(|c| c.id != 1);
        tx.commit_credentials(&[1]).unwrap();
        assert_eq!(fs::read(store.file()).unwrap(), base, "registries.toml was rewritten");
        let journal = journal::parse(&fs::read(store.journal_file()).unwrap()).unwrap().unwrap();
        assert_eq!(journal.count, 3);
        let loaded = store.load().unwrap();
        assert_eq!(loaded.credentials.len(), JOURNAL_FROM);
        assert!(loaded.credential(1).is_none() && !loaded.credential(2).unwrap().active);
        assert_eq!(loaded.credential(new).unwrap().address, "quay.io");
        assert_eq!(loaded.next_id, new + 1);
        // A partial reading sees the same.
        let quay = |a: &str| a == "quay.io" || a == "r1.example.com";
        let need = Need { environment: None, address: &quay, id_or_name: None };
        let partial = store.load_only(&need).unwrap();
        assert_eq!(ids(&partial), [2, new]);
        assert!(!partial.credentials[0].active);
        // And a transaction reads what the last one wrote even when `load` kept a reading.
        store.load().unwrap();
        let third = add(&store, "quay.io");
        assert!(store.transaction().unwrap().credential(third).is_some());
    }

    #[test]
    fn the_journal_is_folded_into_registries_toml_when_full_and_by_any_whole_write() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_of(dir.path(), JOURNAL_FROM);
        for _ in 0..MAX_RECORDS {
            add(&store, "quay.io");
        }
        assert_eq!(journal::parse(&fs::read(store.journal_file()).unwrap()).unwrap().unwrap().count, MAX_RECORDS);
        let last = add(&store, "ghcr.io");
        // The write that found the journal full wrote the store whole, generation 2, and
        // started an empty journal of that generation.
        assert_eq!(journal_of(&store), (2, 0));
        let text = fs::read_to_string(store.file()).unwrap();
        assert!(text.contains("\njournal = 2\n") && text.contains("ghcr.io"));
        assert_eq!(store.load().unwrap().credentials.len(), JOURNAL_FROM + MAX_RECORDS + 1);
        add(&store, "quay.io");
        let mut tx = store.transaction().unwrap();
        tx.environments.push(Environment { name: "staging".into(), created: now() });
        // Not only credentials changed: written whole even though told one credential.
        tx.commit_credentials(&[]).unwrap();
        assert_eq!(journal_of(&store), (3, 0));
        assert!(fs::read_to_string(store.file()).unwrap().contains("\njournal = 3\n"));
        assert!(store.load().unwrap().credential(last).is_some());
    }

    #[test]
    fn a_journal_left_by_an_interrupted_compaction_is_never_replayed() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_of(dir.path(), JOURNAL_FROM);
        let removed_later = add(&store, "quay.io");
        let journal_gen1 = fs::read(store.journal_file()).unwrap();
        // A whole write (generation 2) in which that credential is gone, then a crash before
        // the old journal was removed: it comes back.
        let mut tx = store.transaction().unwrap();
        tx.credentials.retain(|c| c.id != removed_later);
        tx.commit().unwrap();
        fs::write(store.journal_file(), &journal_gen1).unwrap();
        let loaded = store.load().unwrap();
        assert!(loaded.credential(removed_later).is_none(), "a stale journal was replayed");
        // The next write starts a journal of generation 2 in its place.
        let id = add(&store, "ghcr.io");
        let journal = journal::parse(&fs::read(store.journal_file()).unwrap()).unwrap().unwrap();
        assert_eq!((journal.generation, journal.count), (2, 1));
        assert!(store.load().unwrap().credential(id).is_some());
    }

    #[test]
    fn a_store_that_shrinks_is_written_whole_again_and_its_next_journal_is_a_new_generation() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_of(dir.path(), JOURNAL_FROM);
        add(&store, "quay.io");
        let stale = fs::read(store.journal_file()).unwrap();
        let mut tx = store.transaction().unwrap();
        tx.credentials.truncate(10);
        tx.commit().unwrap();
        let text = fs::read_to_string(store.file()).unwrap();
        assert!(!text.contains("journal") && text.starts_with("version = 1\n"), "{text}");
        // Left by a crash after the whole write: ignored, and skipped over when the store grows.
        fs::write(store.journal_file(), &stale).unwrap();
        let mut tx = store.transaction().unwrap();
        for i in 0..JOURNAL_FROM {
            let c = credential(&mut tx, &format!("again{i}.example.com"));
            tx.credentials.push(c);
        }
        tx.commit().unwrap();
        assert!(fs::read_to_string(store.file()).unwrap().contains("\njournal = 2\n"));
        assert_eq!(store.load().unwrap().credentials.len(), JOURNAL_FROM + 10);
    }

    #[test]
    fn a_damaged_journal_is_reported_and_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_of(dir.path(), JOURNAL_FROM);
        add(&store, "quay.io");
        add(&store, "ghcr.io");
        let mut bytes = fs::read(store.journal_file()).unwrap();
        let second_line = bytes.iter().position(|&b| b == b'\n').unwrap() + 20;
        bytes[second_line] ^= 1;
        fs::write(store.journal_file(), &bytes).unwrap();
        let error = store.load().expect_err("a damaged journal was read");
        assert!(error.to_string().contains("registries.journal is inconsistent: line 2 is damaged"), "{error}");
        assert!(store.transaction().is_err());
        assert_eq!(fs::read(store.journal_file()).unwrap(), bytes);
    }

    #[test]
    fn a_store_with_a_journal_carries_the_version_an_older_regcred_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_of(dir.path(), JOURNAL_FROM);
        let text = fs::read_to_string(store.file()).unwrap();
        let version: toml::Value = toml::from_str(&text).unwrap();
        // A regcred that knows versions up to SECRETS_DIR_VERSION reads no journal, and one
        // that knows version 3 reads no sum in its header: both refuse anything newer.
        assert_eq!(version["version"].as_integer(), Some(i64::from(SECRETS_DIR_VERSION + 2)));
        assert_eq!(SCHEMA_VERSION, SECRETS_DIR_VERSION + 2);
    }

    /// The generation and record count of `store`'s journal.
    fn journal_of(store: &Store) -> (u64, usize) {
        let journal = journal::parse(&fs::read(store.journal_file()).unwrap()).unwrap().unwrap();
        (journal.generation, journal.count)
    }

    /// Whether a partial reading of `store` for quay.io succeeds.
    fn partial_reading(store: &Store) -> Result<Registries, StoreError> {
        let quay = |a: &str| a == "quay.io";
        store.load_only(&Need { environment: None, address: &quay, id_or_name: None })
    }

    #[test]
    fn a_journal_vouches_for_the_file_written_whole_and_only_while_its_bytes_are_unchanged() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_of(dir.path(), JOURNAL_FROM);
        let id = add(&store, "quay.io");
        let file = fs::read(store.file()).unwrap();
        let header = journal::parse(&fs::read(store.journal_file()).unwrap()).unwrap().unwrap();
        assert_eq!(header.base, Some(journal::Sum::of(&file)), "the journal vouches for the file written whole");
        assert_eq!(ids(&partial_reading(&store).unwrap()), [id]);
        // A hand edit that breaks a credential the reading does not need: the sum no longer
        // matches, so the reading checks every credential again and refuses the file, as
        // `toml` and a whole reading do.
        let text = String::from_utf8(file).unwrap();
        let at = text.find("added = \"").unwrap() + "added = \"".len();
        let broken = format!("{}9999-99-99T00:00:00Z{}", &text[..at], &text[at + 20..]);
        fs::write(store.file(), &broken).unwrap();
        let error = partial_reading(&store).expect_err("a changed file was taken as vouched for");
        assert!(error.to_string().contains("cannot parse"), "{error}");
        assert!(store.load().is_err());
        // The sum is what decides: a header that vouched for the broken bytes would pass the
        // credential over (what a vouched reading saves), while a whole reading still refuses.
        let journal = fs::read(store.journal_file()).unwrap();
        let end = journal.iter().position(|&b| b == b'\n').unwrap();
        let mut header: serde_json::Value = serde_json::from_slice(&journal[9..end]).unwrap();
        header["base"] = serde_json::to_value(journal::Sum::of(broken.as_bytes())).unwrap();
        let header = serde_json::to_vec(&header).unwrap();
        let mut forged = format!("{:08x} ", crc32fast::hash(&header)).into_bytes();
        forged.extend_from_slice(&header);
        forged.extend_from_slice(&journal[end..]);
        fs::write(store.journal_file(), &forged).unwrap();
        assert_eq!(ids(&partial_reading(&store).unwrap()), [id]);
        assert!(store.load().is_err());
    }

    #[test]
    fn a_file_outside_the_scanners_subset_is_never_vouched_for() {
        let dir = tempfile::tempdir().unwrap();
        let store = store_of(dir.path(), JOURNAL_FROM);
        // A quote in a username: written by `toml`, as a literal string.
        let mut tx = store.transaction().unwrap();
        tx.credential_mut(1).unwrap().username = "a\"b".into();
        tx.commit().unwrap();
        assert!(fs::read_to_string(store.file()).unwrap().contains("username = 'a\"b'"));
        let header = journal::parse(&fs::read(store.journal_file()).unwrap()).unwrap().unwrap();
        assert_eq!((header.generation, header.base), (2, None));
        // Nor by a write that reads it and starts a journal.
        fs::remove_file(store.journal_file()).unwrap();
        add(&store, "quay.io");
        let header = journal::parse(&fs::read(store.journal_file()).unwrap()).unwrap().unwrap();
        assert_eq!((header.count, header.base), (1, None));
        assert_eq!(partial_reading(&store).unwrap().credentials.len(), 1);
    }
}
