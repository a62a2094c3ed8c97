//! Secret stores: where each credential's password lives — the OS keyring (the default) or,
//! only when the user opts in, a plain-text `secrets.toml` in the config dir — behind one
//! trait, so a command never knows which store it has.
//!
//! The keyring store talks to the Secret Service over D-Bus on Linux and the BSDs (through
//! `dbus-secret-service`, the synchronous libdbus client that the `keyring` ecosystem's own
//! Secret Service store is built on), and to the Keychain on macOS and the Credential
//! Manager on Windows through the `keyring` crate. On Linux we use the client directly
//! because `keyring`'s stores fix the item attributes to `service`/`username`, while we
//! need our own attributes for exact lookups (store id + credential id) and a label a
//! person recognises in Seahorse.
//!
//! Nothing here ever falls back from one store to the other: the caller picks one.

use std::fmt;
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use zeroize::{Zeroize, Zeroizing};

/// The service name every keyring entry carries.
const SERVICE: &str = "regcred";

/// A password or token. Wiped from memory when dropped; never printed by `Debug`.
#[derive(Clone)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(Zeroizing::new(value))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Identifies one credential's secret. `store_id` is a random id of the config dir's store
/// (so two config dirs sharing one keyring never see each other's items).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecretKey<'a> {
    pub store_id: &'a str,
    pub id: u64,
    pub environment: &'a str,
    /// Canonical scope, e.g. `quay.io/myorg` or `docker.io`.
    pub address: &'a str,
    pub username: &'a str,
}

impl SecretKey<'_> {
    /// What a person browsing their keyring sees.
    fn label(&self) -> String {
        format!("regcred: {} @ {} (env {})", self.username, self.address, self.environment)
    }
}

/// Which secret store to use (`--secret-store`, `$REGCRED_SECRET_STORE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretStoreKind {
    Keyring,
    /// The Linux kernel keyring (src/secrets_keyutils.rs).
    Keyutils,
    /// The `pass` password store (src/secrets_pass.rs).
    Pass,
    File,
}

impl SecretStoreKind {
    pub const ALL: [SecretStoreKind; 4] =
        [SecretStoreKind::Keyring, SecretStoreKind::Keyutils, SecretStoreKind::Pass, SecretStoreKind::File];

    pub fn as_str(self) -> &'static str {
        match self {
            SecretStoreKind::Keyring => "keyring",
            SecretStoreKind::Keyutils => "keyutils",
            SecretStoreKind::Pass => "pass",
            SecretStoreKind::File => "file",
        }
    }

    /// Parses a store's word (ASCII case-insensitive, surrounding blanks ignored).
    pub fn parse(s: &str) -> Result<SecretStoreKind, UnknownSecretStoreKind> {
        let word = s.trim();
        SecretStoreKind::ALL
            .into_iter()
            .find(|kind| kind.as_str().eq_ignore_ascii_case(word))
            .ok_or_else(|| UnknownSecretStoreKind(s.to_string()))
    }
}

impl fmt::Display for SecretStoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SecretStoreKind {
    type Err = UnknownSecretStoreKind;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        SecretStoreKind::parse(s)
    }
}

/// A `--secret-store` value that is neither `keyring` nor `file`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown secret store `{0}` (expected `keyring`, `keyutils`, `pass` or `file`)")]
pub struct UnknownSecretStoreKind(pub String);

/// A place where credentials' secrets are kept.
pub trait SecretStore {
    fn kind(&self) -> SecretStoreKind;
    /// Where secrets live, for messages: "the Secret Service keyring" / "/path/secrets.toml".
    fn location(&self) -> String;
    /// Can the store be reached and used now (doctor)?
    fn check(&self) -> Result<(), SecretError>;
    fn set(&self, key: &SecretKey<'_>, secret: &Secret) -> Result<(), SecretError>;
    /// Sets many secrets at once (import). Stores that rewrite a whole file do it once.
    fn set_many(&self, items: &[(SecretKey<'_>, &Secret)]) -> Result<(), SecretError> {
        items.iter().try_for_each(|(key, secret)| self.set(key, secret))
    }
    fn get(&self, key: &SecretKey<'_>) -> Result<Option<Secret>, SecretError>;
    /// Ok(true) when something was removed.
    fn delete(&self, key: &SecretKey<'_>) -> Result<bool, SecretError>;
    /// Ids of every credential of this store_id that has a secret here (doctor compares with
    /// metadata).
    fn ids(&self, store_id: &str) -> Result<Vec<u64>, SecretError>;
    /// What `add` tells about how long a secret lasts here, when it is not "until deleted"
    /// (" It is gone at reboot.").
    fn lifetime_note(&self) -> &'static str {
        ""
    }
}

/// Opens a store. Cheap: nothing is read and no D-Bus connection is made until the first call.
pub fn open(kind: SecretStoreKind, config_dir: &Path) -> Box<dyn SecretStore> {
    match kind {
        SecretStoreKind::Keyring => Box::new(KeyringStore::new()),
        #[cfg(target_os = "linux")]
        SecretStoreKind::Keyutils => Box::new(keyutils::KeyutilsStore::new()),
        #[cfg(not(target_os = "linux"))]
        SecretStoreKind::Keyutils => Box::new(Unavailable(SecretStoreKind::Keyutils)),
        SecretStoreKind::Pass => Box::new(pass::PassStore::new()),
        SecretStoreKind::File => Box::new(FileStore::new(config_dir)),
    }
}

#[cfg(target_os = "linux")]
#[path = "secrets_keyutils.rs"]
mod keyutils;
#[path = "secrets_pass.rs"]
mod pass;
#[cfg(all(test, target_os = "linux"))]
#[path = "secrets_session_test.rs"]
mod session_test;

/// A store this platform does not have (the kernel keyring outside Linux).
#[cfg(not(target_os = "linux"))]
struct Unavailable(SecretStoreKind);

#[cfg(not(target_os = "linux"))]
impl SecretStore for Unavailable {
    fn kind(&self) -> SecretStoreKind {
        self.0
    }
    fn location(&self) -> String {
        format!("the {} store", self.0)
    }
    fn check(&self) -> Result<(), SecretError> {
        Err(SecretError::KeyutilsRefused { cause: "the kernel keyring exists on Linux only".to_string() })
    }
    fn set(&self, _: &SecretKey<'_>, _: &Secret) -> Result<(), SecretError> {
        self.check()
    }
    fn get(&self, _: &SecretKey<'_>) -> Result<Option<Secret>, SecretError> {
        self.check().map(|()| None)
    }
    fn delete(&self, _: &SecretKey<'_>) -> Result<bool, SecretError> {
        self.check().map(|()| false)
    }
    fn ids(&self, _: &str) -> Result<Vec<u64>, SecretError> {
        self.check().map(|()| Vec::new())
    }
}

/// Why a secret could not be stored, read or removed.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// No D-Bus session bus, no Secret Service on it, or no keyring to put secrets in.
    #[error("cannot reach the OS keyring: {cause}")]
    KeyringUnreachable { cause: String },
    #[error("the keyring is locked")]
    KeyringLocked,
    #[error("there is no supported OS keyring on this platform")]
    KeyringUnsupported,
    /// The keyring answered, but with an error we have no better words for.
    #[error("the OS keyring failed: {message}")]
    Keyring { message: String },
    #[error("cannot {action} {}: {source}", path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is not valid (line {line}, column {column}): {message}", path.display())]
    FileCorrupt { path: PathBuf, line: usize, column: usize, message: String },
    #[error(
        "{} has format version {found}, but this regcred only knows version {FILE_VERSION}",
        path.display()
    )]
    FileVersionTooNew { path: PathBuf, found: i64 },
    #[error(
        "refusing to use {}: its mode {mode:04o} lets other users {}",
        path.display(),
        if mode & 0o022 != 0 { "change it" } else { "read it" }
    )]
    InsecurePermissions { path: PathBuf, mode: u32 },
    #[error("{} is read-only (mode {mode:04o}); regcred leaves it unchanged", path.display())]
    ReadOnly { path: PathBuf, mode: u32 },
    #[error("{} is {what}; regcred refuses to use it", path.display())]
    NotAFile { path: PathBuf, what: &'static str },
    #[error("{0}")]
    Other(String),
    /// The kernel keyring cannot be used here (seccomp, no CONFIG_KEYS).
    #[error("cannot use the kernel keyring: {cause}")]
    KeyutilsRefused { cause: String },
    /// `pass` cannot be used as it is set up; `fix` is the command that fixes it.
    #[error("{problem}")]
    Pass { problem: String, fix: String },
}

impl SecretError {
    /// A `hint:` line for the user, if one helps.
    pub fn hint(&self) -> Option<String> {
        const FILE_OPT_IN: &str =
            "or opt in to a plain-text secrets file with `--secret-store file` (or REGCRED_SECRET_STORE=file)";
        // Where no Secret Service runs (servers, CI), the headless stores come first.
        const HEADLESS: &str = "or choose a store that needs no desktop session: `--secret-store keyutils` \
             (the kernel keyring, until reboot), `--secret-store pass` (GPG-encrypted files)";
        match self {
            SecretError::KeyringUnreachable { .. } => Some(format!(
                "start a Secret Service such as gnome-keyring and unlock it \
                 (e.g. `gnome-keyring-daemon --unlock --components=secrets`, which reads the \
                 keyring password from stdin), {HEADLESS}, {FILE_OPT_IN}"
            )),
            SecretError::KeyutilsRefused { .. } => Some(
                "choose another store: `--secret-store pass` (GPG-encrypted files), `--secret-store keyring` \
                 where a Secret Service runs, or `--secret-store file` (plain text, mode 0600); or keep no \
                 secret at all with `--secret-from-env VAR`"
                    .to_string(),
            ),
            SecretError::Pass { fix, .. } => Some(fix.clone()),
            SecretError::KeyringLocked => Some(format!(
                "unlock the keyring (e.g. in Seahorse, or with `gnome-keyring-daemon --unlock`, \
                 which reads the keyring password from stdin), {FILE_OPT_IN}"
            )),
            SecretError::KeyringUnsupported => Some(format!("use another store: {FILE_OPT_IN}")),
            SecretError::FileCorrupt { path, .. } => {
                Some(format!("fix {} by hand; regcred does not overwrite a file it cannot read", path.display()))
            }
            SecretError::FileVersionTooNew { .. } => Some("upgrade regcred to use this secrets file".to_string()),
            SecretError::InsecurePermissions { path, .. } => Some(format!("run `chmod 600 {}`", path.display())),
            SecretError::ReadOnly { path, .. } => Some(format!("to allow changes again: chmod 600 {}", path.display())),
            SecretError::NotAFile { path, .. } => Some(format!(
                "regcred replaces the secrets file atomically; put a regular file at {} or move it out of the way",
                path.display()
            )),
            SecretError::Keyring { .. } | SecretError::Io { .. } | SecretError::Other(_) => None,
        }
    }
}

// ---------------------------------------------------------------------------------------
// Keyring store
// ---------------------------------------------------------------------------------------

#[cfg(all(unix, not(any(target_os = "macos", target_os = "ios", target_os = "android"))))]
use secret_service::SecretServiceStore as KeyringStore;

#[cfg(any(target_os = "macos", target_os = "windows"))]
use native::NativeStore as KeyringStore;

#[cfg(not(any(
    all(unix, not(any(target_os = "macos", target_os = "ios", target_os = "android"))),
    target_os = "macos",
    target_os = "windows"
)))]
use unsupported::UnsupportedStore as KeyringStore;

/// The Secret Service (gnome-keyring, KeePassXC, KWallet) over the D-Bus session bus.
///
/// One item per credential in the default collection, found by exact attributes:
/// `service=regcred`, `regcred_store=<store id>`, `regcred_id=<credential id>`. The item
/// also carries `environment`, `address` and `username` so a person can tell what it is.
#[cfg(all(unix, not(any(target_os = "macos", target_os = "ios", target_os = "android"))))]
pub(crate) mod secret_service {
    use std::collections::HashMap;
    use std::sync::{Mutex, PoisonError};

    use dbus_secret_service::{EncryptionType, Error as SsError, Item, SecretService};
    use zeroize::Zeroize;

    use super::{SERVICE, Secret, SecretError, SecretKey, SecretStore, SecretStoreKind};

    const STORE_ATTR: &str = "regcred_store";
    const ID_ATTR: &str = "regcred_id";

    /// Seconds to wait for the user to answer an unlock prompt, when there is a display
    /// to show one on. Without a display nobody can answer, so we never prompt.
    const PROMPT_TIMEOUT_SECS: u64 = 120;

    /// The session is encrypted, as libsecret's is (`dh-ietf1024-sha256-aes128-cbc-pkcs7`):
    /// no secret crosses the bus in clear, where any process of the user may watch it
    /// (`dbus-monitor`). The key exchange costs about 3 ms of our time and 2.5 ms of the
    /// Secret Service's per process (docs/PERFORMANCE.md).
    const ENCRYPTION: EncryptionType = EncryptionType::Dh;

    pub(crate) struct SecretServiceStore {
        /// Connected on first use; a failed attempt is retried by the next call.
        service: Mutex<Option<SecretService>>,
        /// Always, but in the test that shows what it keeps off the bus.
        encrypted: bool,
    }

    impl SecretServiceStore {
        pub(crate) fn new() -> Self {
            SecretServiceStore { service: Mutex::new(None), encrypted: true }
        }

        /// A plain session, for the test that shows what encryption keeps off the bus.
        #[cfg(test)]
        pub(crate) fn plain() -> Self {
            SecretServiceStore { service: Mutex::new(None), encrypted: false }
        }

        fn with_service<T>(&self, f: impl FnOnce(&SecretService) -> Result<T, SecretError>) -> Result<T, SecretError> {
            let mut guard = self.service.lock().unwrap_or_else(PoisonError::into_inner);
            let service = match guard.take() {
                Some(service) => guard.insert(service),
                None => guard.insert(connect(if self.encrypted { ENCRYPTION } else { EncryptionType::Plain })?),
            };
            f(service)
        }
    }

    fn connect(encryption: EncryptionType) -> Result<SecretService, SecretError> {
        let prompt_timeout = if graphical_session() { PROMPT_TIMEOUT_SECS } else { 0 };
        SecretService::connect_with_max_prompt_timeout(encryption, prompt_timeout)
            .map_err(|err| classify_connect_error(&err, bus_reachable()))
    }

    fn graphical_session() -> bool {
        ["DISPLAY", "WAYLAND_DISPLAY"].iter().any(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty()))
    }

    /// Only asked after a failed connect, to tell "no bus" from "no Secret Service".
    fn bus_reachable() -> Result<(), String> {
        dbus::blocking::Connection::new_session()
            .map(drop)
            .map_err(|err| err.message().unwrap_or("unknown error").to_string())
    }

    /// Plain words for a failure to open a Secret Service session. `bus` says whether a
    /// bare connection to the session bus works (and if not, libdbus's reason).
    pub(crate) fn classify_connect_error(err: &SsError, bus: Result<(), String>) -> SecretError {
        if let Err(reason) = bus {
            let cause = match std::env::var_os("DBUS_SESSION_BUS_ADDRESS") {
                None => "no D-Bus session bus ($DBUS_SESSION_BUS_ADDRESS is not set)".to_string(),
                Some(address) => {
                    format!("cannot connect to the D-Bus session bus at `{}` ({reason})", address.to_string_lossy())
                }
            };
            return SecretError::KeyringUnreachable { cause };
        }
        classify(err)
    }

    /// Plain words for an error from a call to the Secret Service.
    pub(crate) fn classify(err: &SsError) -> SecretError {
        let unreachable = |cause: String| SecretError::KeyringUnreachable { cause };
        match err {
            SsError::Locked | SsError::Prompt => SecretError::KeyringLocked,
            SsError::Unavailable => unreachable("no Secret Service is running on the session bus".to_string()),
            SsError::Dbus(e) => {
                let detail = e.message().unwrap_or("no details");
                match e.name().unwrap_or("") {
                    "org.freedesktop.Secret.Error.IsLocked" => SecretError::KeyringLocked,
                    "org.freedesktop.DBus.Error.ServiceUnknown" | "org.freedesktop.DBus.Error.NameHasNoOwner" => {
                        unreachable(
                            "no Secret Service is running on the session bus \
                         (nothing provides org.freedesktop.secrets)"
                                .to_string(),
                        )
                    }
                    name if name.starts_with("org.freedesktop.DBus.Error.Spawn.") => {
                        unreachable(format!("the session bus could not start a Secret Service ({detail})"))
                    }
                    "org.freedesktop.DBus.Error.NoReply"
                    | "org.freedesktop.DBus.Error.Timeout"
                    | "org.freedesktop.DBus.Error.TimedOut" => {
                        unreachable("the Secret Service did not answer in time".to_string())
                    }
                    "org.freedesktop.DBus.Error.Disconnected"
                    | "org.freedesktop.DBus.Error.NoServer"
                    | "org.freedesktop.DBus.Error.NoNetwork" => {
                        unreachable(format!("the D-Bus session bus went away ({detail})"))
                    }
                    name => SecretError::Keyring {
                        message: format!("the Secret Service answered with an error ({name}: {detail})"),
                    },
                }
            }
            SsError::NoResult => {
                unreachable("the Secret Service has no default keyring (collection) to keep secrets in".to_string())
            }
            other => SecretError::Keyring { message: format!("unexpected answer from the Secret Service ({other})") },
        }
    }

    fn lookup_attributes<'k>(store_id: &'k str, id: &'k str) -> HashMap<&'k str, &'k str> {
        HashMap::from([("service", SERVICE), (STORE_ATTR, store_id), (ID_ATTR, id)])
    }

    /// The items holding this credential's secret, unlocked (or KeyringLocked).
    fn find<'s>(ss: &'s SecretService, attributes: HashMap<&str, &str>) -> Result<Vec<Item<'s>>, SecretError> {
        let found = ss.search_items(attributes).map_err(|e| classify(&e))?;
        if !found.locked.is_empty() {
            let locked: Vec<&Item<'_>> = found.locked.iter().collect();
            // Shows the unlock prompt only when there is a display (see `connect`).
            ss.unlock_all(&locked).map_err(|e| classify(&e))?;
        }
        Ok(found.unlocked.into_iter().chain(found.locked).collect())
    }

    impl SecretStore for SecretServiceStore {
        fn kind(&self) -> SecretStoreKind {
            SecretStoreKind::Keyring
        }

        fn location(&self) -> String {
            "the Secret Service keyring".to_string()
        }

        fn check(&self) -> Result<(), SecretError> {
            self.with_service(|ss| {
                let collection = ss.get_default_collection().map_err(|e| classify(&e))?;
                if collection.is_locked().map_err(|e| classify(&e))? {
                    return Err(SecretError::KeyringLocked);
                }
                Ok(())
            })
        }

        fn set(&self, key: &SecretKey<'_>, secret: &Secret) -> Result<(), SecretError> {
            let id = key.id.to_string();
            let mut attributes = lookup_attributes(key.store_id, &id);
            let label = key.label();
            self.with_service(|ss| {
                let existing = find(ss, attributes.clone())?;
                attributes.extend([
                    ("environment", key.environment),
                    ("address", key.address),
                    ("username", key.username),
                ]);
                if let Some((item, duplicates)) = existing.split_first() {
                    let result = item
                        .set_secret(secret.expose().as_bytes(), "text/plain")
                        .and_then(|()| item.set_attributes(attributes))
                        .and_then(|()| item.set_label(&label));
                    result.map_err(|e| classify(&e))?;
                    for duplicate in duplicates {
                        duplicate.delete().map_err(|e| classify(&e))?;
                    }
                    return Ok(());
                }
                let collection = ss.get_default_collection().map_err(|e| classify(&e))?;
                collection.ensure_unlocked().map_err(|e| classify(&e))?;
                collection
                    .create_item(&label, attributes, secret.expose().as_bytes(), true, "text/plain")
                    .map_err(|e| classify(&e))?;
                Ok(())
            })
        }

        fn get(&self, key: &SecretKey<'_>) -> Result<Option<Secret>, SecretError> {
            let id = key.id.to_string();
            self.with_service(|ss| {
                let items = find(ss, lookup_attributes(key.store_id, &id))?;
                let Some(item) = items.first() else {
                    return Ok(None);
                };
                let bytes = item.get_secret().map_err(|e| classify(&e))?;
                match String::from_utf8(bytes) {
                    Ok(text) => Ok(Some(Secret::new(text))),
                    Err(err) => {
                        err.into_bytes().zeroize();
                        Err(SecretError::Keyring {
                            message: format!("the secret of credential {} is not valid UTF-8 text", key.id),
                        })
                    }
                }
            })
        }

        fn delete(&self, key: &SecretKey<'_>) -> Result<bool, SecretError> {
            let id = key.id.to_string();
            self.with_service(|ss| {
                let items = find(ss, lookup_attributes(key.store_id, &id))?;
                for item in &items {
                    item.delete().map_err(|e| classify(&e))?;
                }
                Ok(!items.is_empty())
            })
        }

        fn ids(&self, store_id: &str) -> Result<Vec<u64>, SecretError> {
            self.with_service(|ss| {
                let attributes = HashMap::from([("service", SERVICE), (STORE_ATTR, store_id)]);
                let mut ids = Vec::new();
                for item in find(ss, attributes)? {
                    let attributes = item.get_attributes().map_err(|e| classify(&e))?;
                    // An item without a readable id is not one of ours to report.
                    if let Some(id) = attributes.get(ID_ATTR).and_then(|v| v.parse().ok()) {
                        ids.push(id);
                    }
                }
                ids.sort_unstable();
                ids.dedup();
                Ok(ids)
            })
        }
    }
}

/// The macOS Keychain and the Windows Credential Manager, through the `keyring` crate.
///
/// One generic password per credential: service `regcred`, account `<store id>:<id>`.
/// Compiled on Linux too, under test, so that it is at least type-checked there.
#[cfg(any(test, target_os = "macos", target_os = "windows"))]
#[cfg_attr(not(any(target_os = "macos", target_os = "windows")), allow(dead_code))]
mod native {
    use std::collections::HashMap;

    use keyring_core::{Entry, Error as KeyringError};

    use super::{SERVICE, Secret, SecretError, SecretKey, SecretStore, SecretStoreKind};

    pub(crate) struct NativeStore;

    impl NativeStore {
        pub(crate) fn new() -> Self {
            NativeStore
        }
    }

    /// Makes the platform's store keyring-core's default (once per process).
    fn ensure_default_store() -> Result<(), SecretError> {
        #[cfg(any(target_os = "macos", target_os = "windows"))]
        if let Err(err) = keyring::Entry::store_status() {
            return Err(SecretError::KeyringUnreachable { cause: err.to_string() });
        }
        if keyring_core::get_default_store().is_none() {
            return Err(SecretError::KeyringUnsupported);
        }
        Ok(())
    }

    fn account(key: &SecretKey<'_>) -> String {
        format!("{}:{}", key.store_id, key.id)
    }

    fn entry(key: &SecretKey<'_>) -> Result<Entry, SecretError> {
        ensure_default_store()?;
        Entry::new(SERVICE, &account(key)).map_err(map_error)
    }

    fn map_error(err: KeyringError) -> SecretError {
        match err {
            KeyringError::NoStorageAccess(e) => {
                SecretError::KeyringUnreachable { cause: format!("access to the keyring was refused ({e})") }
            }
            KeyringError::NoDefaultStore => SecretError::KeyringUnsupported,
            other => SecretError::Keyring { message: other.to_string() },
        }
    }

    impl SecretStore for NativeStore {
        fn kind(&self) -> SecretStoreKind {
            SecretStoreKind::Keyring
        }

        fn location(&self) -> String {
            if cfg!(target_os = "windows") {
                "the Windows Credential Manager".to_string()
            } else {
                "the macOS Keychain".to_string()
            }
        }

        fn check(&self) -> Result<(), SecretError> {
            ensure_default_store()
        }

        fn set(&self, key: &SecretKey<'_>, secret: &Secret) -> Result<(), SecretError> {
            entry(key)?.set_password(secret.expose()).map_err(map_error)
        }

        fn get(&self, key: &SecretKey<'_>) -> Result<Option<Secret>, SecretError> {
            match entry(key)?.get_password() {
                Ok(password) => Ok(Some(Secret::new(password))),
                Err(KeyringError::NoEntry) => Ok(None),
                Err(err) => Err(map_error(err)),
            }
        }

        fn delete(&self, key: &SecretKey<'_>) -> Result<bool, SecretError> {
            match entry(key)?.delete_credential() {
                Ok(()) => Ok(true),
                Err(KeyringError::NoEntry) => Ok(false),
                Err(err) => Err(map_error(err)),
            }
        }

        fn ids(&self, store_id: &str) -> Result<Vec<u64>, SecretError> {
            ensure_default_store()?;
            // Each platform store has its own search vocabulary.
            let spec = if cfg!(target_os = "windows") {
                HashMap::from([("pattern", r"\.regcred$")])
            } else {
                HashMap::from([("service", SERVICE)])
            };
            let prefix = format!("{store_id}:");
            let mut ids: Vec<u64> = Entry::search(&spec)
                .map_err(map_error)?
                .iter()
                .filter_map(|entry| entry.get_specifiers())
                .filter(|(service, _)| service == SERVICE)
                .filter_map(|(_, account)| account.strip_prefix(&prefix)?.parse().ok())
                .collect();
            ids.sort_unstable();
            ids.dedup();
            Ok(ids)
        }
    }
}

#[cfg(not(any(
    all(unix, not(any(target_os = "macos", target_os = "ios", target_os = "android"))),
    target_os = "macos",
    target_os = "windows"
)))]
mod unsupported {
    use super::{Secret, SecretError, SecretKey, SecretStore, SecretStoreKind};

    pub(crate) struct UnsupportedStore;

    impl UnsupportedStore {
        pub(crate) fn new() -> Self {
            UnsupportedStore
        }
    }

    impl SecretStore for UnsupportedStore {
        fn kind(&self) -> SecretStoreKind {
            SecretStoreKind::Keyring
        }
        fn location(&self) -> String {
            "the OS keyring".to_string()
        }
        fn check(&self) -> Result<(), SecretError> {
            Err(SecretError::KeyringUnsupported)
        }
        fn set(&self, _: &SecretKey<'_>, _: &Secret) -> Result<(), SecretError> {
            Err(SecretError::KeyringUnsupported)
        }
        fn get(&self, _: &SecretKey<'_>) -> Result<Option<Secret>, SecretError> {
            Err(SecretError::KeyringUnsupported)
        }
        fn delete(&self, _: &SecretKey<'_>) -> Result<bool, SecretError> {
            Err(SecretError::KeyringUnsupported)
        }
        fn ids(&self, _: &str) -> Result<Vec<u64>, SecretError> {
            Err(SecretError::KeyringUnsupported)
        }
    }
}

// ---------------------------------------------------------------------------------------
// File store
// ---------------------------------------------------------------------------------------

const FILE_NAME: &str = "secrets.toml";
const FILE_VERSION: i64 = 1;
const FILE_MODE: u32 = 0o600;
/// Temporary files of `FileStore::save`, removed by the store lock when a writer was killed.
pub(crate) const FILE_TEMP_PREFIX: &str = ".secrets.toml.";

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
struct FileStore {
    path: PathBuf,
}

/// One credential's secret as kept in the file; wiped when dropped.
#[derive(Zeroize, zeroize::ZeroizeOnDrop)]
struct FileEntry {
    store: String,
    environment: String,
    address: String,
    username: String,
    secret: String,
}

/// The parsed file, by credential id.
#[derive(Default)]
struct FileSecrets {
    entries: std::collections::BTreeMap<u64, FileEntry>,
}

impl FileStore {
    fn new(config_dir: &Path) -> Self {
        FileStore { path: config_dir.join(FILE_NAME) }
    }

    fn io_error(&self, action: &'static str) -> impl FnOnce(io::Error) -> SecretError + '_ {
        move |source| SecretError::Io { action, path: self.path.clone(), source }
    }

    /// Reads and parses the file; a missing file holds no secrets.
    fn load(&self) -> Result<FileSecrets, SecretError> {
        // Before opening: a FIFO would block the open, and a link would be followed.
        match fs::symlink_metadata(&self.path) {
            Ok(metadata) if !metadata.file_type().is_file() => {
                let what = if metadata.file_type().is_symlink() {
                    "a symbolic link"
                } else if metadata.is_dir() {
                    "a directory"
                } else {
                    "not a regular file"
                };
                return Err(SecretError::NotAFile { path: self.path.clone(), what });
            }
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(FileSecrets::default()),
            _ => {}
        }
        let mut file = match fs::File::open(&self.path) {
            Ok(file) => file,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(FileSecrets::default()),
            Err(err) => return Err(self.io_error("open")(err)),
        };
        let metadata = file.metadata().map_err(self.io_error("read"))?;
        let mode = file_mode(&metadata);
        if mode & 0o022 != 0 {
            return Err(SecretError::InsecurePermissions { path: self.path.clone(), mode });
        }
        if mode & 0o044 != 0 {
            crate::output::warn_readable_by_others(&self.path, mode);
        }
        // Sized up front so the buffer holding every secret is never reallocated (and
        // the old copy left behind unwiped).
        let capacity = usize::try_from(metadata.len()).unwrap_or(0).saturating_add(1);
        let mut bytes = Zeroizing::new(Vec::with_capacity(capacity));
        file.read_to_end(&mut bytes).map_err(self.io_error("read"))?;
        let text = match std::str::from_utf8(&bytes) {
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
                Parsed::TooNew(found) => Err(SecretError::FileVersionTooNew { path: self.path.clone(), found }),
            })
    }

    fn corrupt(&self, line: usize, column: usize, message: impl Into<String>) -> SecretError {
        SecretError::FileCorrupt { path: self.path.clone(), line, column, message: message.into() }
    }

    /// Replaces the file atomically: temp file in the same dir, 0600, fsync, rename.
    fn save(&self, secrets: &FileSecrets) -> Result<(), SecretError> {
        // Made read-only by its owner: a rename would replace it all the same.
        if let Ok(metadata) = fs::symlink_metadata(&self.path)
            && metadata.is_file()
            && file_mode(&metadata) & 0o200 == 0
        {
            return Err(SecretError::ReadOnly { path: self.path.clone(), mode: file_mode(&metadata) });
        }
        let dir = self.path.parent().unwrap_or(Path::new("."));
        let text = render_file(secrets);
        let mut builder = tempfile::Builder::new();
        builder.prefix(FILE_TEMP_PREFIX);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(fs::Permissions::from_mode(FILE_MODE));
        }
        let mut temp = builder.tempfile_in(dir).map_err(self.io_error("create a temporary file beside"))?;
        #[cfg(unix)]
        {
            // The umask may have taken bits away at creation; say exactly what we want.
            use std::os::unix::fs::PermissionsExt;
            temp.as_file()
                .set_permissions(fs::Permissions::from_mode(FILE_MODE))
                .map_err(self.io_error("set permissions of a temporary file beside"))?;
        }
        temp.write_all(text.as_bytes())
            .and_then(|()| temp.as_file().sync_all())
            .map_err(self.io_error("write a temporary file beside"))?;
        temp.persist(&self.path).map_err(|err| self.io_error("replace")(err.error))?;
        // Make the rename itself durable (best effort: not every platform can open a dir).
        if let Ok(dir) = fs::File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

#[cfg(unix)]
fn file_mode(metadata: &fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o7777
}

/// Windows has no mode bits; the file lives in the user's profile.
#[cfg(not(unix))]
fn file_mode(_: &fs::Metadata) -> u32 {
    FILE_MODE
}

impl SecretStore for FileStore {
    fn kind(&self) -> SecretStoreKind {
        SecretStoreKind::File
    }

    fn location(&self) -> String {
        self.path.display().to_string()
    }

    /// Stricter than a read: doctor also reports a file other users may read.
    fn check(&self) -> Result<(), SecretError> {
        self.load()?;
        match fs::metadata(&self.path) {
            Ok(metadata) if file_mode(&metadata) & 0o077 != 0 => {
                Err(SecretError::InsecurePermissions { path: self.path.clone(), mode: file_mode(&metadata) })
            }
            Ok(_) => Ok(()),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(self.io_error("read")(err)),
        }
    }

    fn set(&self, key: &SecretKey<'_>, secret: &Secret) -> Result<(), SecretError> {
        self.set_many(&[(*key, secret)])
    }

    /// One read and one atomic rewrite of the file, however many secrets.
    fn set_many(&self, items: &[(SecretKey<'_>, &Secret)]) -> Result<(), SecretError> {
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
        let secrets = self.load()?;
        Ok(secrets
            .entries
            .get(&key.id)
            .filter(|entry| entry.store == key.store_id)
            .map(|entry| Secret::new(entry.secret.clone())))
    }

    fn delete(&self, key: &SecretKey<'_>) -> Result<bool, SecretError> {
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
        let secrets = self.load()?;
        Ok(secrets.entries.iter().filter(|(_, entry)| entry.store == store_id).map(|(id, _)| *id).collect())
    }
}

enum Parsed {
    Secrets(FileSecrets),
    TooNew(i64),
}

/// Parses the file's text. Errors are (byte offset, message); no message ever quotes a
/// value from the file, since any value might be a secret.
fn parse_file(text: &str) -> Result<Parsed, (usize, String)> {
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
    const HEADER: &str = "\
# regcred secrets: plain text, chosen with `--secret-store file`.
# Keep this file private (mode 0600). Each [secret.ID] belongs to credential ID.
";
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
        out.push_str(&format!("\n[secret.{id}]\n"));
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

/// 1-based line and column (in characters) of byte `offset` in `bytes`.
fn line_column(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::hash::{BuildHasher, RandomState};
    use std::process::Command;
    use std::sync::atomic::{AtomicU64, Ordering};

    fn key<'a>(store_id: &'a str, id: u64, username: &'a str) -> SecretKey<'a> {
        SecretKey { store_id, id, environment: "default", address: "docker.io", username }
    }

    fn unique_store_id() -> String {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = RandomState::new().hash_one((
            std::process::id(),
            std::time::SystemTime::now(),
            COUNTER.fetch_add(1, Ordering::Relaxed),
        ));
        format!("test-{n:016x}")
    }

    fn strict() -> bool {
        std::env::var("REGCRED_TEST_STRICT").as_deref() == Ok("1")
    }

    /// Reports a missing system service: a pass when lenient, a failure when strict.
    fn skip(message: &str, reason: &str) {
        assert!(!strict(), "{message}: {reason}; REGCRED_TEST_STRICT=1 forbids skipping");
        println!("skipped: {message}: {reason}");
    }

    #[cfg(unix)]
    fn mode_of(path: &Path) -> u32 {
        file_mode(&fs::metadata(path).unwrap())
    }

    #[cfg(unix)]
    fn chmod(path: &Path, mode: u32) {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    }

    // --- Secret, kinds, errors ---------------------------------------------------------

    #[test]
    fn secret_debug_is_redacted() {
        let secret = Secret::new("hunter2".to_string());
        assert_eq!(format!("{secret:?}"), "Secret(<redacted>)");
        assert_eq!(secret.expose(), "hunter2");
    }

    #[test]
    fn no_debug_output_shows_a_secret() {
        assert!(!crate::implements_debug!(FileEntry));
        assert!(!crate::implements_debug!(FileSecrets));
        let secret = Secret::new("hunter2".to_string());
        assert_eq!(format!("{secret:#?}"), "Secret(<redacted>)");
        // Errors about a secrets file holding the secret quote no value from it.
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("secrets.toml"), "[secret.1]\nsecret = 12345678\n").unwrap();
        let err = open(SecretStoreKind::File, dir.path()).ids("s1").unwrap_err();
        assert!(!format!("{err:?}").contains("12345678"), "{err:?}");
        let key = key("s1", 1, "bob");
        assert!(!format!("{key:?}").contains("hunter2"));
    }

    #[test]
    fn secret_store_kind_parses_and_displays_its_words() {
        for kind in SecretStoreKind::ALL {
            assert_eq!(SecretStoreKind::parse(&kind.to_string()), Ok(kind));
            assert_eq!(kind.to_string().parse::<SecretStoreKind>(), Ok(kind));
        }
        assert_eq!(SecretStoreKind::parse(" File "), Ok(SecretStoreKind::File));
        let err = SecretStoreKind::parse("vault").unwrap_err();
        assert_eq!(err.to_string(), "unknown secret store `vault` (expected `keyring`, `keyutils`, `pass` or `file`)");
    }

    #[test]
    fn keyring_errors_hint_at_both_remedies() {
        let errors = [
            SecretError::KeyringUnreachable { cause: "no Secret Service is running on the session bus".to_string() },
            SecretError::KeyringLocked,
        ];
        for err in errors {
            let hint = err.hint().unwrap();
            assert!(hint.contains("gnome-keyring-daemon --unlock"), "{hint}");
            assert!(hint.contains("--secret-store file"), "{hint}");
            assert!(hint.contains("REGCRED_SECRET_STORE=file"), "{hint}");
        }
        // Where no Secret Service runs at all, the stores that need none are named too.
        let unreachable = SecretError::KeyringUnreachable { cause: "no D-Bus session bus".to_string() };
        let hint = unreachable.hint().unwrap();
        for remedy in ["gnome-keyring-daemon", "--secret-store keyutils", "--secret-store pass", "--secret-store file"]
        {
            assert!(hint.contains(remedy), "{hint}");
        }
        assert_eq!(SecretError::KeyringLocked.to_string(), "the keyring is locked");
    }

    #[test]
    fn open_is_cheap_and_says_where_secrets_live() {
        let dir = tempfile::tempdir().unwrap();
        let file = open(SecretStoreKind::File, dir.path());
        assert_eq!(file.kind(), SecretStoreKind::File);
        assert_eq!(file.location(), dir.path().join("secrets.toml").display().to_string());
        assert!(!dir.path().join("secrets.toml").exists());
        let keyring = open(SecretStoreKind::Keyring, dir.path());
        assert_eq!(keyring.kind(), SecretStoreKind::Keyring);
        assert!(!keyring.location().is_empty());
    }

    // --- File store --------------------------------------------------------------------

    #[test]
    fn file_store_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(SecretStoreKind::File, dir.path());
        assert!(store.get(&key("s1", 3, "bob")).unwrap().is_none());

        store.set(&key("s1", 3, "bob"), &Secret::new("hunter2".into())).unwrap();
        let got = store.get(&key("s1", 3, "bob")).unwrap().unwrap();
        assert_eq!(got.expose(), "hunter2");

        // Editing replaces the secret and what is written beside it.
        store.set(&key("s1", 3, "alice"), &Secret::new("s3cret".into())).unwrap();
        assert_eq!(store.get(&key("s1", 3, "alice")).unwrap().unwrap().expose(), "s3cret");
        let text = fs::read_to_string(dir.path().join("secrets.toml")).unwrap();
        assert!(text.contains("[secret.3]"), "{text}");
        assert!(text.contains("username = \"alice\""), "{text}");
        assert!(text.contains("address = \"docker.io\""), "{text}");
        assert!(text.contains("environment = \"default\""), "{text}");
        assert!(!text.contains("bob"), "{text}");
        assert!(!text.contains("hunter2"), "{text}");
    }

    #[test]
    fn file_store_keeps_any_text_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(SecretStoreKind::File, dir.path());
        let awkward = [
            "",
            " spaces around ",
            "quote\" backslash\\ '''triple''' \"\"\"",
            "line\nbreak\r\ntab\tbell\u{7}nul\u{0}del\u{7f}",
            "ünïcødé 🔑 \u{85}\u{2028}",
            "# not a comment = [table]",
        ];
        for (i, text) in awkward.iter().enumerate() {
            let username = format!("user \"{i}\"\n");
            let k = SecretKey { username: &username, ..key("s1", i as u64, "") };
            store.set(&k, &Secret::new(text.to_string())).unwrap();
        }
        for (i, text) in awkward.iter().enumerate() {
            let got = store.get(&key("s1", i as u64, "whoever")).unwrap().unwrap();
            assert_eq!(got.expose(), *text);
        }
    }

    #[test]
    fn file_store_delete() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(SecretStoreKind::File, dir.path());
        assert!(!store.delete(&key("s1", 1, "bob")).unwrap());
        assert!(!dir.path().join("secrets.toml").exists(), "delete of nothing wrote a file");

        store.set(&key("s1", 1, "bob"), &Secret::new("one".into())).unwrap();
        store.set(&key("s1", 2, "bob"), &Secret::new("two".into())).unwrap();
        assert!(store.delete(&key("s1", 1, "bob")).unwrap());
        assert!(!store.delete(&key("s1", 1, "bob")).unwrap());
        assert!(store.get(&key("s1", 1, "bob")).unwrap().is_none());
        assert_eq!(store.get(&key("s1", 2, "bob")).unwrap().unwrap().expose(), "two");
        // Another store's id is not ours to delete.
        assert!(!store.delete(&key("s2", 2, "bob")).unwrap());
        assert!(store.get(&key("s1", 2, "bob")).unwrap().is_some());
    }

    #[test]
    fn file_store_ids_are_per_store_and_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(SecretStoreKind::File, dir.path());
        assert!(store.ids("s1").unwrap().is_empty());
        for id in [10, 2, 33] {
            store.set(&key("s1", id, "bob"), &Secret::new(format!("p{id}"))).unwrap();
        }
        store.set(&key("s2", 5, "bob"), &Secret::new("other".into())).unwrap();
        assert_eq!(store.ids("s1").unwrap(), vec![2, 10, 33]);
        assert_eq!(store.ids("s2").unwrap(), vec![5]);
        assert!(store.get(&key("s2", 10, "bob")).unwrap().is_none());
    }

    #[cfg(unix)]
    #[test]
    fn file_store_writes_mode_0600_under_umask_022_and_000() {
        for umask in ["022", "000"] {
            let dir = tempfile::tempdir().unwrap();
            // The umask is per process, so the write happens in a child (see probe).
            let out = run_probe("file-mode", &[("REGCRED_TEST_PROBE_DIR", dir.path().as_os_str())], &[], Some(umask));
            assert!(out.contains(&format!("umask=0{umask}")), "{out}");
            assert_eq!(mode_of(&dir.path().join("secrets.toml")), 0o600, "{out}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn file_store_restores_0600_when_rewriting() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(SecretStoreKind::File, dir.path());
        store.set(&key("s1", 1, "bob"), &Secret::new("one".into())).unwrap();
        let path = dir.path().join("secrets.toml");
        chmod(&path, 0o644);
        store.set(&key("s1", 2, "bob"), &Secret::new("two".into())).unwrap();
        assert_eq!(mode_of(&path), 0o600);
    }

    #[test]
    fn file_store_reports_syntax_errors_with_line_and_column_and_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secrets.toml");
        let text = "version = 1\n\n[secret.3]\nstore = \"s1\"\nsecret = \"hunter2\nusername = \"bob\"\n";
        fs::write(&path, text).unwrap();
        #[cfg(unix)]
        chmod(&path, 0o600);
        let store = open(SecretStoreKind::File, dir.path());

        let err = store.get(&key("s1", 3, "bob")).unwrap_err();
        let SecretError::FileCorrupt { line, column, .. } = &err else {
            panic!("expected FileCorrupt, got {err:?}");
        };
        assert_eq!((*line, *column), (5, 18), "{err}");
        assert!(!err.to_string().contains("hunter2"), "error quotes a secret: {err}");
        assert!(err.to_string().contains("line 5, column 18"), "{err}");
        assert!(err.hint().unwrap().contains("by hand"));

        for result in
            [store.set(&key("s1", 4, "bob"), &Secret::new("x".into())), store.delete(&key("s1", 3, "bob")).map(drop)]
        {
            assert!(matches!(result, Err(SecretError::FileCorrupt { .. })));
        }
        assert_eq!(fs::read_to_string(&path).unwrap(), text, "corrupt file was rewritten");
    }

    #[test]
    fn file_store_reports_wrong_shapes_without_quoting_values() {
        let cases = [
            (
                "[secret.7]\nstore = \"s1\"\nenvironment = \"default\"\naddress = \"docker.io\"\nusername = \"bob\"\nsecret = 987654321\n",
                (6, 10),
                "`secret.7.secret` must be a string",
            ),
            ("[secret.bob]\nsecret = \"987654321\"\n", (1, 9), "`secret.bob` is not a credential id"),
            ("[secret.8]\nstore = \"s1\"\nsecret = \"987654321\"\n", (1, 1), "`secret.8` has no `environment`"),
            ("secret = \"987654321\"\n", (1, 10), "`secret` must be a table of credential ids"),
            ("version = 1\npassword = \"987654321\"\n", (2, 1), "unknown key `password`"),
        ];
        for (text, (line, column), message) in cases {
            let dir = tempfile::tempdir().unwrap();
            fs::write(dir.path().join("secrets.toml"), text).unwrap();
            let err = open(SecretStoreKind::File, dir.path()).ids("s1").unwrap_err();
            match &err {
                SecretError::FileCorrupt { line: l, column: c, message: m, .. } => {
                    assert_eq!((*l, *c, m.as_str()), (line, column, message), "{text}");
                }
                other => panic!("expected FileCorrupt for {text:?}, got {other:?}"),
            }
            assert!(!err.to_string().contains("987654321"), "error quotes a value: {err}");
        }
    }

    #[test]
    fn file_store_refuses_a_newer_format() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("secrets.toml"), "version = 2\n").unwrap();
        let store = open(SecretStoreKind::File, dir.path());
        let err = store.get(&key("s1", 1, "bob")).unwrap_err();
        assert!(matches!(err, SecretError::FileVersionTooNew { found: 2, .. }), "{err:?}");
        assert!(store.set(&key("s1", 1, "bob"), &Secret::new("x".into())).is_err());
        assert_eq!(fs::read_to_string(dir.path().join("secrets.toml")).unwrap(), "version = 2\n");
    }

    #[cfg(unix)]
    #[test]
    fn file_store_refuses_a_file_others_may_write() {
        let dir = tempfile::tempdir().unwrap();
        let store = open(SecretStoreKind::File, dir.path());
        store.set(&key("s1", 1, "bob"), &Secret::new("one".into())).unwrap();
        let path = dir.path().join("secrets.toml");
        for mode in [0o620, 0o602, 0o666] {
            chmod(&path, mode);
            let err = store.get(&key("s1", 1, "bob")).unwrap_err();
            assert!(matches!(err, SecretError::InsecurePermissions { mode: m, .. } if m == mode), "{err:?}");
            assert!(err.to_string().contains("lets other users change it"), "{err}");
            assert_eq!(err.hint().unwrap(), format!("run `chmod 600 {}`", path.display()));
            assert!(store.set(&key("s1", 2, "bob"), &Secret::new("two".into())).is_err());
            assert_eq!(mode_of(&path), mode, "refused file was touched");
        }
        // Readable by others: still read (so nothing breaks), but doctor's check objects.
        chmod(&path, 0o644);
        assert!(store.get(&key("s1", 1, "bob")).unwrap().is_some());
        let err = store.check().unwrap_err();
        assert!(err.to_string().contains("lets other users read it"), "{err}");
        chmod(&path, 0o600);
        store.check().unwrap();
    }

    // --- Keyring store: errors, in child processes with their own environment ----------

    /// Runs this test binary again, for `keyring_error_probe` only, with `probe` as the
    /// job; returns its stdout. `umask` runs it under that umask.
    fn run_probe(probe: &str, set: &[(&str, &std::ffi::OsStr)], remove: &[&str], umask: Option<&str>) -> String {
        let exe = std::env::current_exe().unwrap();
        let mut command = match umask {
            Some(umask) => {
                let mut sh = Command::new("sh");
                sh.arg("-c").arg(format!("umask {umask} && exec \"$0\" \"$@\"")).arg(&exe);
                sh
            }
            None => Command::new(&exe),
        };
        command.args(["keyring_error_probe", "--nocapture", "--test-threads=1"]).env("REGCRED_TEST_PROBE", probe);
        for (name, value) in set {
            command.env(name, value);
        }
        for name in remove {
            command.env_remove(name);
        }
        let output = command.output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        assert!(
            output.status.success(),
            "probe {probe} failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
    }

    /// Not a test by itself: the child side of `run_probe`.
    #[test]
    fn keyring_error_probe() {
        let Ok(probe) = std::env::var("REGCRED_TEST_PROBE") else {
            return;
        };
        match probe.as_str() {
            "keyring" => {
                let dir = tempfile::tempdir().unwrap();
                let store = open(SecretStoreKind::Keyring, dir.path());
                let err = store.get(&key("probe", 1, "bob")).unwrap_err();
                println!("PROBE display: {err}");
                println!("PROBE hint: {}", err.hint().unwrap_or_default());
                println!("PROBE debug: {err:?}");
            }
            "file-mode" => {
                let status = fs::read_to_string("/proc/self/status").unwrap_or_default();
                let umask = status.lines().find_map(|l| l.strip_prefix("Umask:")).unwrap_or("?").trim();
                let dir = std::env::var_os("REGCRED_TEST_PROBE_DIR").unwrap();
                let store = open(SecretStoreKind::File, Path::new(&dir));
                store.set(&key("s1", 1, "bob"), &Secret::new("x".into())).unwrap();
                println!("umask={umask}");
            }
            other => panic!("unknown probe {other}"),
        }
    }

    fn probe_line<'a>(out: &'a str, what: &str) -> &'a str {
        let prefix = format!("PROBE {what}: ");
        out.lines()
            .find_map(|l| Some(l.split_once(prefix.as_str())?.1))
            .unwrap_or_else(|| panic!("no {what} in probe output:\n{out}"))
    }

    fn assert_two_remedies(out: &str) {
        let hint = probe_line(out, "hint");
        assert!(hint.contains("gnome-keyring-daemon --unlock"), "{hint}");
        assert!(hint.contains("--secret-store file"), "{hint}");
    }

    #[cfg(all(unix, not(any(target_os = "macos", target_os = "ios", target_os = "android"))))]
    #[test]
    fn keyring_without_session_bus_says_so_in_plain_words() {
        let runtime = tempfile::tempdir().unwrap();
        let out = run_probe(
            "keyring",
            &[("XDG_RUNTIME_DIR", runtime.path().as_os_str())],
            &["DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY"],
            None,
        );
        assert_eq!(
            probe_line(&out, "display"),
            "cannot reach the OS keyring: no D-Bus session bus ($DBUS_SESSION_BUS_ADDRESS is not set)"
        );
        assert_two_remedies(&out);
    }

    #[cfg(all(unix, not(any(target_os = "macos", target_os = "ios", target_os = "android"))))]
    #[test]
    fn keyring_with_dead_bus_address_says_so_in_plain_words() {
        let out = run_probe(
            "keyring",
            &[("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent".as_ref())],
            &["DISPLAY", "WAYLAND_DISPLAY"],
            None,
        );
        let display = probe_line(&out, "display");
        assert!(
            display.starts_with(
                "cannot reach the OS keyring: cannot connect to the D-Bus session bus at `unix:path=/nonexistent`"
            ),
            "{display}"
        );
        assert_two_remedies(&out);
    }

    /// A real private bus with no Secret Service on it (and none it could start).
    #[cfg(all(unix, not(any(target_os = "macos", target_os = "ios", target_os = "android"))))]
    #[test]
    fn keyring_with_no_secret_service_on_the_bus_says_so_in_plain_words() {
        use std::io::BufRead;

        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("bus.conf");
        fs::write(
            &config,
            format!(
                r#"<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:dir={}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"#,
                dir.path().display()
            ),
        )
        .unwrap();
        let daemon = Command::new("dbus-daemon")
            .arg(format!("--config-file={}", config.display()))
            .args(["--nofork", "--print-address=1"])
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn();
        let mut daemon = match daemon {
            Ok(daemon) => daemon,
            Err(err) => {
                return skip("no dbus-daemon (install the dbus package)", &err.to_string());
            }
        };
        let mut address = String::new();
        let stdout = daemon.stdout.take().unwrap();
        io::BufReader::new(stdout).read_line(&mut address).unwrap();
        let result = std::panic::catch_unwind(|| {
            run_probe(
                "keyring",
                &[("DBUS_SESSION_BUS_ADDRESS", address.trim().as_ref())],
                &["DISPLAY", "WAYLAND_DISPLAY"],
                None,
            )
        });
        let _ = daemon.kill();
        let _ = daemon.wait();
        let out = result.unwrap();
        assert_eq!(
            probe_line(&out, "display"),
            "cannot reach the OS keyring: no Secret Service is running on the session bus \
             (nothing provides org.freedesktop.secrets)"
        );
        assert_two_remedies(&out);
    }

    // --- Keyring store against the real Secret Service ---------------------------------

    /// The keyring store, when the tests may use it: only inside the private session that
    /// scripts/with-keyring starts, never the developer's own keyring.
    fn private_keyring() -> Option<Box<dyn SecretStore>> {
        let reason = if std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_none() {
            "DBUS_SESSION_BUS_ADDRESS is not set".to_string()
        } else if std::env::var("REGCRED_TEST_KEYRING").as_deref() != Ok("private") {
            "not inside scripts/with-keyring (REGCRED_TEST_KEYRING=private), \
             so the tests leave this session's keyring alone"
                .to_string()
        } else {
            let store = open(SecretStoreKind::Keyring, Path::new("/nonexistent"));
            match store.check() {
                Ok(()) => return Some(store),
                Err(err) => err.to_string(),
            }
        };
        skip("no Secret Service (run under scripts/test)", &reason);
        None
    }

    /// Deletes what a test put in the keyring, even when the test fails.
    struct Cleanup<'a> {
        store: &'a dyn SecretStore,
        store_id: &'a str,
    }

    impl Drop for Cleanup<'_> {
        fn drop(&mut self) {
            if let Ok(ids) = self.store.ids(self.store_id) {
                for id in ids {
                    let _ = self.store.delete(&key(self.store_id, id, ""));
                }
            }
        }
    }

    /// `secret-tool` with these arguments: (exit success, stdout, then stderr, where it
    /// prints attributes).
    fn secret_tool(args: &[&str], stdin: Option<&str>) -> Option<(bool, String)> {
        let mut command = Command::new("secret-tool");
        command
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(err) => {
                skip("no secret-tool (install libsecret-tools)", &err.to_string());
                return None;
            }
        };
        let mut input = child.stdin.take().unwrap();
        if let Some(text) = stdin {
            input.write_all(text.as_bytes()).unwrap();
        }
        drop(input);
        let output = child.wait_with_output().unwrap();
        let mut out = String::from_utf8_lossy(&output.stdout).into_owned();
        out.push_str(&String::from_utf8_lossy(&output.stderr));
        Some((output.status.success(), out))
    }

    #[test]
    fn keyring_round_trip_seen_by_secret_tool() {
        let Some(store) = private_keyring() else {
            return;
        };
        let store_id = unique_store_id();
        let _cleanup = Cleanup { store: store.as_ref(), store_id: &store_id };
        let bob = key(&store_id, 42, "bob");

        assert!(store.get(&bob).unwrap().is_none());
        store.set(&bob, &Secret::new("hunter2 ünï 🔑".into())).unwrap();
        assert_eq!(store.get(&bob).unwrap().unwrap().expose(), "hunter2 ünï 🔑");

        let lookup = ["lookup", "service", "regcred", "regcred_store", &store_id, "regcred_id", "42"];
        let search = ["search", "--all", "service", "regcred", "regcred_store", &store_id];
        if let Some((ok, out)) = secret_tool(&lookup, None) {
            assert!(ok);
            assert_eq!(out, "hunter2 ünï 🔑");
            let (_, out) = secret_tool(&search, None).unwrap();
            assert!(out.contains("label = regcred: bob @ docker.io (env default)"), "{out}");
            assert!(out.contains("attribute.username = bob"), "{out}");
            assert!(out.contains("attribute.address = docker.io"), "{out}");
            assert!(out.contains("attribute.environment = default"), "{out}");
        }

        // An edit replaces the one item, label and attributes included.
        let alice = key(&store_id, 42, "alice");
        store.set(&alice, &Secret::new("n3w".into())).unwrap();
        assert_eq!(store.get(&alice).unwrap().unwrap().expose(), "n3w");
        if let Some((_, out)) = secret_tool(&search, None) {
            assert_eq!(out.matches("[/").count(), 1, "one item expected:\n{out}");
            assert!(out.contains("label = regcred: alice @ docker.io (env default)"), "{out}");
            assert!(out.contains("secret = n3w"), "{out}");
        }

        assert!(store.delete(&alice).unwrap());
        assert!(store.get(&alice).unwrap().is_none());
        assert!(!store.delete(&alice).unwrap());
        if let Some((ok, out)) = secret_tool(&lookup, None) {
            assert!(!ok || out.is_empty(), "still in the keyring: {out}");
            let (_, out) = secret_tool(&search, None).unwrap();
            assert!(!out.contains("regcred"), "still in the keyring: {out}");
        }
    }

    #[test]
    fn keyring_ids_are_per_store() {
        let Some(store) = private_keyring() else {
            return;
        };
        let (a, b) = (unique_store_id(), unique_store_id());
        let _cleanup_a = Cleanup { store: store.as_ref(), store_id: &a };
        let _cleanup_b = Cleanup { store: store.as_ref(), store_id: &b };
        for id in [3, 1, 20] {
            store.set(&key(&a, id, "bob"), &Secret::new(format!("a{id}"))).unwrap();
        }
        store.set(&key(&b, 1, "bob"), &Secret::new("b1".into())).unwrap();

        assert_eq!(store.ids(&a).unwrap(), vec![1, 3, 20]);
        assert_eq!(store.ids(&b).unwrap(), vec![1]);
        assert_eq!(store.get(&key(&a, 1, "bob")).unwrap().unwrap().expose(), "a1");
        assert_eq!(store.get(&key(&b, 1, "bob")).unwrap().unwrap().expose(), "b1");
        assert!(store.delete(&key(&b, 1, "bob")).unwrap());
        assert_eq!(store.get(&key(&a, 1, "bob")).unwrap().unwrap().expose(), "a1");
        assert!(store.ids(&b).unwrap().is_empty());
    }

    #[test]
    fn keyring_finds_an_item_written_by_another_client() {
        let Some(store) = private_keyring() else {
            return;
        };
        let store_id = unique_store_id();
        let _cleanup = Cleanup { store: store.as_ref(), store_id: &store_id };
        let attributes = ["service", "regcred", "regcred_store", &store_id, "regcred_id", "7"];
        let mut args = vec!["store", "--label=written by secret-tool"];
        args.extend(attributes);
        let Some((ok, _)) = secret_tool(&args, Some("from-outside")) else {
            return;
        };
        assert!(ok);
        assert_eq!(store.ids(&store_id).unwrap(), vec![7]);
        let seven = key(&store_id, 7, "bob");
        assert_eq!(store.get(&seven).unwrap().unwrap().expose(), "from-outside");
        assert!(store.delete(&seven).unwrap());
        let mut args = vec!["lookup"];
        args.extend(attributes);
        let (ok, out) = secret_tool(&args, None).unwrap();
        assert!(!ok || out.is_empty(), "still in the keyring: {out}");
    }

    #[test]
    fn keyring_check_passes_on_an_unlocked_keyring() {
        let Some(store) = private_keyring() else {
            return;
        };
        store.check().unwrap();
        assert_eq!(store.location(), "the Secret Service keyring");
    }
}
