//! The `keyutils` secret store: the Linux kernel keyring, through the keyring ecosystem's
//! own store (`linux-keyutils-keyring-store` over `keyring-core`), for servers and CI runners
//! with no D-Bus. No daemon, nothing on disk, gone at reboot.
//!
//! Each secret is a `user` key in the session keyring, also linked into the user's
//! persistent keyring, which the store links into every new session keyring it opens: so a
//! secret survives the process that wrote it, other processes of the same user and a new
//! login session, for as long as the persistent keyring lives (by default three days after
//! its last use: `/proc/sys/kernel/keys/persistent_keyring_expiry`), and never a reboot.
//!
//! Keys are described `regcred:<store id>:<credential id>`, so lookups are exact and two
//! config dirs never share a secret. The kernel keyring cannot be searched by prefix through
//! the store, so beside the secrets one key, `regcred:<store id>:ids`, lists the ids written;
//! `ids` answers with those of them that still have a key. The caller holds the config dir's
//! lock around every write, so the list is never updated by two processes at once; it is
//! written before a secret is added and after one is removed, so a killed writer leaves at
//! worst an id without a key, which `ids` leaves out.

use std::collections::HashMap;

use keyring_core::api::CredentialStoreApi;
use keyring_core::{Entry, Error as KeyringError};
use linux_keyutils::KeyError;
use zeroize::Zeroizing;

use super::{Secret, SecretError, SecretKey, SecretStore, SecretStoreKind};

pub(crate) struct KeyutilsStore;

impl KeyutilsStore {
    pub(crate) fn new() -> Self {
        KeyutilsStore
    }

    /// The entry with this description. Building one opens the session keyring (and links
    /// the persistent keyring into it): the first system calls, where a refusal shows.
    fn entry(&self, description: &str) -> Result<Entry, SecretError> {
        let store = linux_keyutils_keyring_store::Store::new().map_err(classify)?;
        let modifiers = HashMap::from([("description", description)]);
        store.build("regcred", "", Some(&modifiers)).map_err(classify)
    }

    fn secret_entry(&self, store_id: &str, id: u64) -> Result<Entry, SecretError> {
        self.entry(&format!("regcred:{store_id}:{id}"))
    }

    fn index_entry(&self, store_id: &str) -> Result<Entry, SecretError> {
        self.entry(&format!("regcred:{store_id}:ids"))
    }

    /// The ids the index lists (empty when there is no index yet).
    fn index(&self, store_id: &str) -> Result<Vec<u64>, SecretError> {
        match self.index_entry(store_id)?.get_password() {
            Ok(text) => Ok(text.split(',').filter_map(|id| id.parse().ok()).collect()),
            Err(KeyringError::NoEntry) => Ok(Vec::new()),
            Err(err) => Err(classify(err)),
        }
    }

    fn write_index(&self, store_id: &str, ids: &[u64]) -> Result<(), SecretError> {
        let entry = self.index_entry(store_id)?;
        if ids.is_empty() {
            return match entry.delete_credential() {
                Ok(()) | Err(KeyringError::NoEntry) => Ok(()),
                Err(err) => Err(classify(err)),
            };
        }
        let text = ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",");
        entry.set_password(&text).map_err(classify)
    }
}

/// Plain words for what the kernel answered.
fn classify(err: KeyringError) -> SecretError {
    let key_error = match &err {
        KeyringError::NoStorageAccess(inner) | KeyringError::PlatformFailure(inner) => {
            inner.downcast_ref::<KeyError>().copied()
        }
        _ => None,
    };
    let refused = |cause: &str| SecretError::KeyutilsRefused { cause: cause.to_owned() };
    match key_error {
        Some(KeyError::PermissionDenied) => refused(
            "the kernel refused its key system calls (EPERM), as the default seccomp profile of container runtimes does",
        ),
        Some(KeyError::Unknown(38)) => {
            refused("this kernel has no key management system calls (ENOSYS: built without CONFIG_KEYS, or filtered)")
        }
        Some(KeyError::OperationNotSupported) => refused("this kernel does not support the kernel keyring (ENOTSUP)"),
        Some(KeyError::AccessDenied) => refused(
            "this process may not keep keys in its session keyring (EACCES); it has none of its own, which a \
             login gives: start one with `keyctl new_session`, or run the command under `keyctl session - COMMAND`",
        ),
        Some(KeyError::QuotaExceeded) => SecretError::Keyring {
            message: "the kernel keyring quota of this user is full (see /proc/sys/kernel/keys/maxkeys and maxbytes)"
                .to_owned(),
        },
        Some(other) => SecretError::Keyring { message: format!("the kernel keyring failed ({other:?})") },
        None => SecretError::Keyring { message: format!("the kernel keyring failed ({err})") },
    }
}

impl SecretStore for KeyutilsStore {
    fn kind(&self) -> SecretStoreKind {
        SecretStoreKind::Keyutils
    }

    fn location(&self) -> String {
        "the kernel keyring (keyutils)".to_owned()
    }

    /// Writes, reads and removes a probe key: a process without a session keyring of its own
    /// may search the user's default one but not keep keys in it, which only a write shows.
    fn check(&self) -> Result<(), SecretError> {
        let probe = self.entry(&format!("regcred:probe:{}", std::process::id()))?;
        probe.set_password("probe").map_err(classify)?;
        let read = probe.get_password().map_err(classify);
        let _ = probe.delete_credential();
        match read {
            Ok(text) if text == "probe" => Ok(()),
            Ok(_) => Err(SecretError::Keyring { message: "the kernel keyring returned another value".to_owned() }),
            Err(err) => Err(err),
        }
    }

    fn set(&self, key: &SecretKey<'_>, secret: &Secret) -> Result<(), SecretError> {
        let entry = self.secret_entry(key.store_id, key.id)?;
        let mut ids = self.index(key.store_id)?;
        if !ids.contains(&key.id) {
            ids.push(key.id);
            self.write_index(key.store_id, &ids)?;
        }
        entry.set_password(secret.expose()).map_err(classify)
    }

    fn get(&self, key: &SecretKey<'_>) -> Result<Option<Secret>, SecretError> {
        match self.secret_entry(key.store_id, key.id)?.get_secret() {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => Ok(Some(Secret::new(text))),
                Err(err) => {
                    drop(Zeroizing::new(err.into_bytes()));
                    Err(SecretError::Keyring {
                        message: format!("the secret of credential {} is not valid UTF-8 text", key.id),
                    })
                }
            },
            Err(KeyringError::NoEntry) => Ok(None),
            Err(err) => Err(classify(err)),
        }
    }

    fn delete(&self, key: &SecretKey<'_>) -> Result<bool, SecretError> {
        let removed = match self.secret_entry(key.store_id, key.id)?.delete_credential() {
            Ok(()) => true,
            Err(KeyringError::NoEntry) => false,
            Err(err) => return Err(classify(err)),
        };
        let mut ids = self.index(key.store_id)?;
        if ids.contains(&key.id) {
            ids.retain(|id| *id != key.id);
            self.write_index(key.store_id, &ids)?;
        }
        Ok(removed)
    }

    fn ids(&self, store_id: &str) -> Result<Vec<u64>, SecretError> {
        let mut present = Vec::new();
        for id in self.index(store_id)? {
            match self.secret_entry(store_id, id)?.get_secret() {
                Ok(bytes) => {
                    drop(Zeroizing::new(bytes));
                    present.push(id);
                }
                Err(KeyringError::NoEntry) => {}
                Err(err) => return Err(classify(err)),
            }
        }
        present.sort_unstable();
        present.dedup();
        Ok(present)
    }

    fn lifetime_note(&self) -> &'static str {
        " The kernel keyring keeps it until reboot (and for three days after its last use, by default): \
          add it again after a restart."
    }
}
