//! The keyring store of a platform with no supported OS keyring: every call says so.

use super::{Secret, SecretError, SecretKey, SecretStore, SecretStoreKind};

pub(crate) struct UnsupportedStore;

impl UnsupportedStore {
    pub(crate) fn new(_patience: crate::vault::Patience) -> Self {
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
