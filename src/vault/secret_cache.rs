//! One secret lookup per credential per command: [`SecretCache`] keeps each secret store
//! it opened (one D-Bus connection, one read of an older store's `secrets.toml`) and each
//! secret it read (with `secrets.d/`, one small file each),
//! by credential id, for as long as the command runs, and wipes the secrets when dropped.
//!
//! Why: `resolve --stdin --show-secret` over 500 images that resolve to 50 credentials
//! looked a secret up per image, each with a fresh D-Bus connection; a command that needs
//! secrets for many images (`resolve`, `export`, `kube`, `exec`) asks this cache instead.

use std::collections::HashMap;

use super::secrets::{Secret, SecretStore, SecretStoreKind};
use super::store::Credential;
use super::{Error, Vault, secret_key};

/// Opens a secret store of a kind (the vault's `secrets`, or a test double).
type Opener<'a> = Box<dyn Fn(SecretStoreKind) -> Box<dyn SecretStore> + 'a>;

/// The secrets one command has read, by credential id, and the stores they came from.
/// Dropping it wipes every secret it holds ([`Secret`] zeroizes itself).
pub struct SecretCache<'a> {
    store_id: String,
    open: Opener<'a>,
    stores: Vec<(SecretStoreKind, Box<dyn SecretStore>)>,
    secrets: HashMap<u64, Secret>,
}

impl Vault {
    /// A cache for the secrets of the store `store_id` (the loaded `registries.toml`'s).
    pub fn secret_cache(&self, store_id: &str) -> SecretCache<'_> {
        SecretCache::with_opener(store_id, move |kind| self.secrets(kind))
    }
}

impl<'a> SecretCache<'a> {
    /// A cache that opens stores with `open`: the vault's in a command, a double in tests.
    pub fn with_opener(store_id: &str, open: impl Fn(SecretStoreKind) -> Box<dyn SecretStore> + 'a) -> Self {
        SecretCache { store_id: store_id.to_owned(), open: Box::new(open), stores: Vec::new(), secrets: HashMap::new() }
    }

    /// The secret of a credential, read from its store the first time it is asked for. A
    /// secret that should be there and is not is an error, never an empty password.
    pub fn secret_of(&mut self, credential: &Credential) -> Result<&Secret, Error> {
        // Two lookups rather than the entry API: the miss path needs `self` for the store.
        if !self.secrets.contains_key(&credential.id) {
            let secret = self.read(credential)?;
            self.secrets.insert(credential.id, secret);
        }
        Ok(&self.secrets[&credential.id])
    }

    /// The secret of a credential if [`SecretCache::secret_of`] read it before.
    pub fn cached(&self, credential: &Credential) -> Option<&Secret> {
        self.secrets.get(&credential.id)
    }

    /// The secret of a credential, taken out of the cache (read first if need be): for a
    /// caller that keeps it beyond the cache.
    pub fn take(&mut self, credential: &Credential) -> Result<Secret, Error> {
        match self.secrets.remove(&credential.id) {
            Some(secret) => Ok(secret),
            None => self.read(credential),
        }
    }

    fn read(&mut self, credential: &Credential) -> Result<Secret, Error> {
        // `--secret-from-env`: the variable's value, read now; no store is opened.
        if let Some(var) = &credential.secret_env {
            return super::secret_env::read(credential, var);
        }
        let kind = credential.secret_store;
        let index = match self.stores.iter().position(|(k, _)| *k == kind) {
            Some(index) => index,
            None => {
                self.stores.push((kind, (self.open)(kind)));
                self.stores.len() - 1
            }
        };
        let store = &self.stores[index].1;
        store
            .get(&secret_key(&self.store_id, credential))?
            .ok_or_else(|| Error::SecretMissing { id: credential.id, location: store.location() })
    }
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;

    use super::*;
    use crate::vault::secrets::{SecretError, SecretKey};
    use crate::vault::store::Registries;

    /// A store that counts what it is asked: how many times it was opened and read.
    struct Counting {
        gets: Rc<Cell<usize>>,
    }

    impl SecretStore for Counting {
        fn kind(&self) -> SecretStoreKind {
            SecretStoreKind::File
        }
        fn location(&self) -> String {
            "the counting store".into()
        }
        fn check(&self) -> Result<(), SecretError> {
            Ok(())
        }
        fn set(&self, _: &SecretKey<'_>, _: &Secret) -> Result<(), SecretError> {
            Ok(())
        }
        fn get(&self, key: &SecretKey<'_>) -> Result<Option<Secret>, SecretError> {
            self.gets.set(self.gets.get() + 1);
            // Credential 0 has no secret: the metadata points at nothing.
            Ok((key.id != 0).then(|| Secret::new(format!("secret-{}-{}", key.store_id, key.id))))
        }
        fn delete(&self, _: &SecretKey<'_>) -> Result<bool, SecretError> {
            Ok(false)
        }
        fn ids(&self, _: &str) -> Result<Vec<u64>, SecretError> {
            Ok(Vec::new())
        }
    }

    fn credential(id: u64) -> Credential {
        Credential::for_test(id, "default", &format!("registry{id}.example.com"))
    }

    #[test]
    fn each_credential_is_looked_up_once_however_many_images_use_it() {
        let gets = Rc::new(Cell::new(0));
        let opened = Rc::new(Cell::new(0));
        let (g, o) = (gets.clone(), opened.clone());
        let mut cache = SecretCache::with_opener("store", move |_| {
            o.set(o.get() + 1);
            Box::new(Counting { gets: g.clone() })
        });
        let credentials: Vec<Credential> = (1..=50).map(credential).collect();
        // 500 images, ten per credential, in an order that revisits each credential.
        for image in 0..500 {
            let c = &credentials[image % 50];
            assert_eq!(cache.secret_of(c).unwrap().expose(), format!("secret-store-{}", c.id));
        }
        assert_eq!(gets.get(), 50, "one lookup per credential");
        assert_eq!(opened.get(), 1, "one store opened for all of them");
        // Taking a secret out hands over the cached one without another lookup.
        assert_eq!(cache.take(&credentials[3]).unwrap().expose(), "secret-store-4");
        assert_eq!(gets.get(), 50);
    }

    #[test]
    fn a_missing_secret_is_an_error_that_names_the_store_and_is_asked_again() {
        let gets = Rc::new(Cell::new(0));
        let g = gets.clone();
        let mut cache = SecretCache::with_opener("store", move |_| Box::new(Counting { gets: g.clone() }));
        let missing = credential(0);
        for _ in 0..2 {
            match cache.secret_of(&missing) {
                Err(Error::SecretMissing { id: 0, location }) => assert_eq!(location, "the counting store"),
                other => panic!("expected SecretMissing, got {:?}", other.map(|s| s.expose().len())),
            }
        }
        // A failure is not remembered as a secret.
        assert_eq!(gets.get(), 2);
    }

    #[test]
    fn the_vaults_cache_reads_the_file_store_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = crate::vault::testing::store(dir.path());
        let vault = Vault::new(store, SecretStoreKind::File, None);
        let registries = Registries::fresh();
        // The older layout, one file for all, is the one read once (`secrets.d/` holds a
        // file per secret).
        std::fs::write(dir.path().join(crate::vault::secrets::FILE_NAME), "").unwrap();
        let file = vault.secrets(SecretStoreKind::File);
        let credentials: Vec<Credential> = (1..=3).map(credential).collect();
        for c in &credentials {
            file.set(&secret_key(&registries.store_id, c), &Secret::new(format!("pw{}", c.id))).unwrap();
        }
        let mut cache = vault.secret_cache(&registries.store_id);
        assert_eq!(cache.secret_of(&credentials[0]).unwrap().expose(), "pw1");
        // Gone from disk after the first lookup: the others come from that one reading.
        std::fs::remove_file(dir.path().join(crate::vault::secrets::FILE_NAME)).unwrap();
        for c in credentials.iter().chain(&credentials) {
            assert_eq!(cache.secret_of(c).unwrap().expose(), format!("pw{}", c.id));
        }
    }
}
