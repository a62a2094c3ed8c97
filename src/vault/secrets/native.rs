//! The macOS Keychain and the Windows Credential Manager, through the `keyring` crate.
//!
//! One generic password per credential: service `regcred`, account `<store id>:<id>`.
//! Compiled on Linux too, under test, so that it is at least type-checked there.

use std::collections::HashMap;

use keyring_core::{Entry, Error as KeyringError};

use super::{SERVICE, Secret, SecretError, SecretKey, SecretStore, SecretStoreKind};

pub(crate) struct NativeStore;

impl NativeStore {
    pub(crate) fn new(_patience: crate::vault::Patience) -> Self {
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
