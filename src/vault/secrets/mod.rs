//! Secret stores: where each credential's password lives — the OS keyring (the default) or,
//! only when the user opts in, plain-text files under `secrets.d/` in the config dir — behind one
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
//! Nothing here ever falls back from one store to the other: the caller picks one. One
//! file per store: `secret_service` (Linux and the BSDs), `native` (macOS, Windows),
//! `file` (`secrets.d/`), `unsupported` (anything else), and the two stores for servers
//! and CI that need no desktop session: `keyutils` (the Linux kernel keyring) and `pass`
//! (the standard Unix password manager, GPG-encrypted files).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use zeroize::Zeroizing;

use super::Store;
use super::fs::FsError;

mod file;
#[cfg(target_os = "linux")]
mod keyutils;
#[cfg(any(test, target_os = "macos", target_os = "windows"))]
#[cfg_attr(not(any(target_os = "macos", target_os = "windows")), allow(dead_code))]
mod native;
mod pass;
#[cfg(all(unix, not(any(target_os = "macos", target_os = "ios", target_os = "android"))))]
mod secret_service;
#[cfg(all(test, target_os = "linux"))]
mod session_test;
#[cfg(test)]
mod tests;
#[cfg(not(target_os = "linux"))]
mod unavailable;
#[cfg(not(any(
    all(unix, not(any(target_os = "macos", target_os = "ios", target_os = "android"))),
    target_os = "macos",
    target_os = "windows"
)))]
mod unsupported;

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

#[cfg(any(test, feature = "fuzzing"))]
pub(crate) use file::check_file_round_trip;
pub(crate) use file::{DIR_NAME, FILE_NAME, finish_migration, is_staged_secret, migrate};

/// The longest secret accepted, in bytes. Registry passwords and tokens are far shorter
/// (a JWT is a few KiB); anything longer is a mistake, such as a whole file piped in, and
/// the credential helper could not hand it over either (its requests are capped alike).
pub const MAX_SECRET: usize = 64 * 1024;

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
    /// The Linux kernel keyring (keyutils.rs).
    Keyutils,
    /// The `pass` password store (pass.rs).
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
        // The words as regcred writes them, first: every credential of a store read has one.
        match s {
            "keyring" => return Ok(SecretStoreKind::Keyring),
            "keyutils" => return Ok(SecretStoreKind::Keyutils),
            "pass" => return Ok(SecretStoreKind::Pass),
            "file" => return Ok(SecretStoreKind::File),
            _ => {}
        }
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

/// A `--secret-store` value that names no store.
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

/// Opens the secret store of `kind` for the config dir of `store`. Cheap: nothing is read
/// and no D-Bus connection is made until the first call.
pub fn open(kind: SecretStoreKind, store: &Store) -> Box<dyn SecretStore> {
    match kind {
        SecretStoreKind::Keyring => Box::new(KeyringStore::new(store.patience().clone())),
        #[cfg(target_os = "linux")]
        SecretStoreKind::Keyutils => Box::new(keyutils::KeyutilsStore::new()),
        #[cfg(not(target_os = "linux"))]
        SecretStoreKind::Keyutils => Box::new(unavailable::Unavailable(SecretStoreKind::Keyutils)),
        SecretStoreKind::Pass => Box::new(pass::PassStore::new()),
        SecretStoreKind::File => Box::new(file::FileStore::new(store.dir(), store.warnings().clone())),
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
    /// The keyring's unlock prompt was cancelled (or could not be shown).
    #[error("the keyring is locked: its unlock prompt was dismissed")]
    KeyringUnlockDismissed,
    /// Nobody answered the keyring's unlock prompt within the patience's timeout.
    #[error("the keyring is locked: nobody answered its unlock prompt within {secs} s")]
    KeyringUnlockTimeout { secs: u64 },
    #[error("there is no supported OS keyring on this platform")]
    KeyringUnsupported,
    /// The keyring answered, but with an error we have no better words for.
    #[error("the OS keyring failed: {message}")]
    Keyring { message: String },
    /// The Secret Service did not answer within the patience's timeout.
    #[error("gave up after {secs} s waiting for the Secret Service to answer")]
    KeyringTimeout { secs: u64 },
    #[error(transparent)]
    File(FsError),
    #[error("{} is not valid (line {line}, column {column}): {message}", path.display())]
    FileCorrupt { path: PathBuf, line: usize, column: usize, message: String },
    #[error(
        "{} has format version {found}, but this regcred only knows version 1",
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
        // `--replace`: a plain `--unlock` starts a second daemon and leaves the running
        // one locked. gnome-keyring takes every byte on stdin as the password, so no newline.
        const UNLOCK_FROM_SHELL: &str = "from this shell with `read -rs -p 'keyring password: ' pw && \
             printf %s \"$pw\" | gnome-keyring-daemon --replace --unlock --components=secrets; unset pw`";
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
            // `gnome-keyring-daemon --unlock` would start a second daemon, not unlock this one.
            SecretError::KeyringLocked => Some(format!(
                "unlock the keyring: on the desktop in Seahorse (regcred shows the keyring's own unlock prompt \
                 only where $DISPLAY or $WAYLAND_DISPLAY is set), or, for gnome-keyring, {UNLOCK_FROM_SHELL}, \
                 {FILE_OPT_IN}"
            )),
            SecretError::KeyringUnlockDismissed => Some(format!(
                "run the command again and enter the keyring password in the prompt, or unlock the keyring \
                 in Seahorse; if no prompt showed (the keyring could not show one on this display), unlock \
                 gnome-keyring {UNLOCK_FROM_SHELL}, {FILE_OPT_IN}"
            )),
            SecretError::KeyringUnlockTimeout { .. } => Some(format!(
                "the prompt stays open on the desktop: enter the keyring password there and run the command \
                 again (REGCRED_TIMEOUT sets how many seconds regcred waits), {FILE_OPT_IN}"
            )),
            SecretError::KeyringUnsupported => Some(format!("use another store: {FILE_OPT_IN}")),
            SecretError::FileCorrupt { path, .. } => {
                Some(format!("fix {} by hand; regcred does not overwrite a file it cannot read", path.display()))
            }
            SecretError::FileVersionTooNew { .. } => Some("upgrade regcred to use this secrets file".to_string()),
            SecretError::InsecurePermissions { path, .. } if path.is_dir() => {
                Some(format!("run `chmod 700 {}`", path.display()))
            }
            SecretError::InsecurePermissions { path, .. } => Some(format!("run `chmod 600 {}`", path.display())),
            SecretError::ReadOnly { path, .. } => Some(format!("to allow changes again: chmod 600 {}", path.display())),
            SecretError::NotAFile { path, .. } => Some(format!(
                "regcred replaces the secrets file atomically; put a regular file at {} or move it out of the way",
                path.display()
            )),
            SecretError::KeyringTimeout { .. } => Some(format!(
                "check that the Secret Service answers (is it stuck on a prompt?); REGCRED_TIMEOUT sets how \
                 many seconds to wait, {FILE_OPT_IN}"
            )),
            SecretError::File(e) => e.hint(),
            SecretError::Keyring { .. } | SecretError::Other(_) => None,
        }
    }
}

/// The checks of [`PrivateFile`](super::fs::PrivateFile) in the words the secrets file
/// always used.
impl From<FsError> for SecretError {
    fn from(error: FsError) -> SecretError {
        match error {
            FsError::WritableByOthers { path, mode } => SecretError::InsecurePermissions { path, mode },
            FsError::ReadOnly { path, mode } => SecretError::ReadOnly { path, mode },
            FsError::NotAFile { path, kind } => SecretError::NotAFile { path, what: kind.word() },
            other => SecretError::File(other),
        }
    }
}
