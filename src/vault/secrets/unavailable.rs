//! A store this platform does not have: the kernel keyring (`keyutils`) outside Linux.
//! Every call fails with the error that names the stores that do exist here.

use super::{Secret, SecretError, SecretKey, SecretStore, SecretStoreKind};

pub(crate) struct Unavailable(pub(crate) SecretStoreKind);

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
