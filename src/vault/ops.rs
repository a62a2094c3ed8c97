//! The vault's operations: each takes the lock once, changes the store, and orders the
//! writes so that an interruption leaves nothing a user can see half done: a new secret is
//! written before the metadata that points at it (and removed again when the metadata
//! cannot be written); a deleted credential's metadata goes before its secret.

use std::collections::HashMap;

use regcred_core::{RegistryAddress, Scope, validate_name};

use super::logins::{self, Held};
use super::secrets::{Secret, SecretKey, SecretStoreKind};
use super::store::{Credential, Environment, NewCredential, Registries, TlsSetting, Wants, now};
use super::{EnvCredentials, Error, Vault, check_email, check_name, check_name_free, check_username, secret_key};

/// A TLS setting to store with a new credential (`add --insecure`, `add --ca-cert`).
pub struct NewTls {
    /// Canonical `host[:port]`.
    pub address: String,
    pub insecure: bool,
    pub ca_cert: Option<String>,
}

/// A new credential, as the user gave it.
pub struct AddRequest {
    pub name: Option<String>,
    /// Canonical scope.
    pub address: String,
    pub username: String,
    pub email: Option<String>,
    pub tls: Option<NewTls>,
}

impl AddRequest {
    /// The rules for what is stored; checked again by [`Vault::add`].
    pub fn validate(&self) -> Result<(), Error> {
        check_username(&self.username)?;
        check_email(self.email.as_deref())?;
        if let Some(name) = &self.name {
            check_name(name)?;
        }
        Ok(())
    }
}

/// Where a new or edited credential's secret comes from.
pub enum SecretSource {
    /// Entered now, and kept in the secret store new secrets go to.
    Given(Secret),
    /// `--secret-from-env VAR`: kept nowhere, read from VAR at each use.
    Env(String),
}

impl SecretSource {
    /// The rule for variable names; checked again by [`Vault::add`] and [`Vault::edit`].
    pub fn validate(&self) -> Result<(), Error> {
        match self {
            SecretSource::Given(_) => Ok(()),
            SecretSource::Env(var) => super::secret_env::check_name(var),
        }
    }

    fn var(&self) -> Option<String> {
        match self {
            SecretSource::Given(_) => None,
            SecretSource::Env(var) => Some(var.clone()),
        }
    }
}

/// What [`Vault::add`] did.
pub struct Added {
    pub credential: Credential,
    pub environment: String,
    /// Where the secret went, in words (none with `--secret-from-env`).
    pub location: String,
    /// How long a secret lasts there, when not until deleted (" It is gone at reboot.").
    pub lifetime_note: &'static str,
    pub tls: Option<TlsSetting>,
    /// Active credentials for exactly the same address, now overridden by the new one.
    pub overridden: Vec<Credential>,
}

/// What `edit` changes; `None` keeps the old value.
#[derive(Default)]
pub struct Changes {
    pub username: Option<String>,
    /// `Some(None)` removes the e-mail.
    pub email: Option<Option<String>>,
    /// `Some(None)` removes the name.
    pub name: Option<Option<String>>,
}

impl Changes {
    /// The rules for what is stored; checked again by [`Vault::edit`]. An empty e-mail or
    /// name means "remove it".
    pub fn new(username: Option<String>, email: Option<&str>, name: Option<&str>) -> Result<Changes, Error> {
        if let Some(username) = &username {
            check_username(username)?;
        }
        let email = email.map(|e| check_email(Some(e))).transpose()?;
        let name = match name {
            None => None,
            Some("") => Some(None),
            Some(name) => {
                check_name(name)?;
                Some(Some(name.to_owned()))
            }
        };
        Ok(Changes { username, email, name })
    }

    fn validate(&self) -> Result<(), Error> {
        if let Some(username) = &self.username {
            check_username(username)?;
        }
        if let Some(Some(email)) = &self.email {
            check_email(Some(email))?;
        }
        if let Some(Some(name)) = &self.name {
            check_name(name)?;
        }
        Ok(())
    }
}

/// What [`Vault::set_active`] did.
pub struct Toggled {
    pub registries: Registries,
    pub environment: String,
    pub id: u64,
    pub changed: bool,
    /// The statuses before the change of the credentials on the same registry, in
    /// `EnvCredentials::on_registry` order (only those can change with this one).
    pub before: Vec<regcred_core::Status>,
}

/// One credential found by an import, before the rules are applied.
pub struct ImportItem {
    /// The key it had in the file (or the helper's server URL).
    pub key: String,
    pub scope: Result<Scope, String>,
    pub username: String,
    pub email: Option<String>,
    pub secret: Result<Secret, String>,
}

/// What [`Vault::import`] made of one item.
pub struct ImportLine {
    /// The canonical address, or the key as found when it is not an address.
    pub address: String,
    pub username: String,
    /// The new id (none in a dry run), or why the item was skipped.
    pub result: Result<Option<u64>, String>,
}

impl ImportLine {
    fn new(address: String, username: String, result: Result<Option<u64>, String>) -> ImportLine {
        ImportLine { address, username, result }
    }
}

/// What [`Vault::import`] did.
pub struct ImportOutcome {
    pub environment: String,
    pub items: Vec<ImportLine>,
    pub imported: usize,
}

impl Vault {
    /// What can be said before a password is asked for a new credential: the environment
    /// exists and the name is free. Returns the environment.
    pub fn check_add(&self, request: &AddRequest) -> Result<String, Error> {
        request.validate()?;
        let registries = self.store.load_for(&self.add_wants(request))?;
        let environment = self.environment(&registries)?;
        check_name_free(&registries, &environment, request.name.as_deref(), None)?;
        Ok(environment)
    }

    /// What `add` reads of a big store: any credential with the new name, and the ones the new
    /// one overrides.
    fn add_wants(&self, request: &AddRequest) -> Wants {
        Wants {
            environment: self.env_override.clone(),
            names: request.name.iter().cloned().collect(),
            addresses: vec![request.address.clone()],
            ..Wants::default()
        }
    }

    /// Adds a credential: its secret first, its metadata second, and the secret removed
    /// again if the metadata cannot be written.
    pub fn add(&self, request: AddRequest, source: &SecretSource) -> Result<Added, Error> {
        request.validate()?;
        source.validate()?;
        let mut tx = self.store.transaction_for(&self.add_wants(&request))?;
        let environment = self.environment(&tx)?;
        check_name_free(&tx, &environment, request.name.as_deref(), None)?;
        let tls = request.tls.map(|t| TlsSetting {
            environment: environment.clone(),
            address: t.address,
            insecure: t.insecure,
            ca_cert: t.ca_cert,
            updated: now(),
        });
        if let Some(setting) = &tls {
            tx.set_tls(setting.clone());
        }
        let mut credential = tx.new_credential(NewCredential {
            environment: environment.clone(),
            name: request.name,
            address: request.address,
            username: request.username,
            email: check_email(request.email.as_deref())?,
            secret_store: self.secret_store,
        });
        credential.secret_env = source.var();
        let secrets = self.secrets(self.secret_store);
        let store_id = tx.store_id.clone();
        if let SecretSource::Given(secret) = source {
            secrets.set(&secret_key(&store_id, &credential), secret)?;
        }
        tx.credentials.push(credential.clone());
        let registries = match tx.commit_credentials(&[credential.id]) {
            Ok(registries) => registries,
            Err(error) => {
                if credential.secret_env.is_none() {
                    let _ = secrets.delete(&secret_key(&store_id, &credential));
                }
                return Err(error.into());
            }
        };
        // The newest credential for an address overrides every other active one with
        // exactly that address (rule 5); comparing the canonical text spares parsing scopes.
        let overridden = registries
            .credentials_in(&environment)
            .filter(|c| c.id != credential.id && c.active && c.address == credential.address)
            .cloned()
            .collect();
        Ok(Added {
            credential,
            environment,
            location: secrets.location(),
            lifetime_note: secrets.lifetime_note(),
            tls,
            overridden,
        })
    }

    /// Changes a credential's username, e-mail or name and replaces its secret (or where it
    /// comes from); the address and the addition order never change. The old secret comes
    /// back if the metadata cannot be written.
    /// `wants` is what the command read the store for ([`super::wants_for`]): it holds `id`
    /// and the new name.
    pub fn edit(
        &self,
        id: u64,
        environment: &str,
        changes: &Changes,
        source: &SecretSource,
        wants: &Wants,
    ) -> Result<Credential, Error> {
        changes.validate()?;
        source.validate()?;
        let mut tx = self.store.transaction_for(wants)?;
        let new_name = changes.name.as_ref().and_then(|n| n.as_deref());
        check_name_free(&tx, environment, new_name, Some(id))?;
        let Some(credential) = tx.credential_mut(id).filter(|c| c.environment == environment) else {
            return Err(Error::invalid(
                format!("credential {id} was deleted while regcred waited for the password"),
                None,
            ));
        };
        let before = credential.clone();
        if let Some(username) = &changes.username {
            credential.username = username.clone();
        }
        if let Some(email) = &changes.email {
            credential.email = email.clone();
        }
        if let Some(name) = &changes.name {
            credential.name = name.clone();
        }
        credential.updated = now();
        if before.secret_env.is_some() && matches!(source, SecretSource::Given(_)) {
            // A secret entered again after a variable goes where new secrets go now.
            credential.secret_store = self.secret_store;
        }
        credential.secret_env = source.var();
        let after = credential.clone();
        let store_id = tx.store_id.clone();
        let SecretSource::Given(secret) = source else {
            // The metadata first, then the stored secret, no longer used, is removed (if
            // that fails, `doctor --fix` removes it later).
            tx.commit_credentials(&[id])?;
            if before.secret_env.is_none()
                && let Err(e) = self.secrets(before.secret_store).delete(&secret_key(&store_id, &before))
            {
                self.store.warnings().push(super::Warning::SecretKeptBehind { id, cause: e.to_string() });
            }
            return Ok(after);
        };
        let secrets = self.secrets(after.secret_store);
        let old_secret = match before.secret_env {
            Some(_) => None,
            None => secrets.get(&secret_key(&store_id, &before))?,
        };
        // `set` replaces the secret of the same credential id, even when the username changed.
        secrets.set(&secret_key(&store_id, &after), secret)?;
        if let Err(error) = tx.commit_credentials(&[id]) {
            match old_secret {
                Some(old) => {
                    let _ = secrets.set(&secret_key(&store_id, &before), &old);
                }
                None => {
                    let _ = secrets.delete(&secret_key(&store_id, &after));
                }
            }
            return Err(error.into());
        }
        Ok(after)
    }

    /// Activates or deactivates the credential SELECTOR means (rule 6); its secret stays.
    pub fn set_active(&self, selector: &str, active: bool) -> Result<Toggled, Error> {
        let mut wants = super::wants_for(self.env_override(), selector, None);
        // The statuses a toggle reports are of every credential of the selector's registry.
        wants.registries =
            wants.addresses.iter().filter_map(|a| Scope::parse(a).ok()).map(|s| s.address().clone()).collect();
        let mut tx = self.store.transaction_for(&wants)?;
        let environment = self.environment(&tx)?;
        let selected = self.select_wanted(&tx, &environment, selector)?;
        let (id, scope) = (selected.id, super::scope_of(&selected)?);
        if tx.is_partial() && (!wants.registries.contains(scope.address()) || tx.credential(id).is_none()) {
            // Chosen by id or name (or found in the whole store only): the credential and its
            // registry's credentials, for the statuses, are read now.
            drop(tx);
            let wants = Wants {
                environment: Some(environment.clone()),
                ids: vec![id],
                registries: vec![scope.address().clone()],
                ..Wants::default()
            };
            tx = self.store.transaction_for(&wants)?;
            if tx.credential(id).is_none_or(|c| c.environment != environment) {
                return Err(Error::invalid(format!("credential {id} was deleted meanwhile"), None));
            }
        }
        let before = EnvCredentials::on_registry(&tx, &environment, scope.address())?.statuses();
        let changed = match tx.credential_mut(id) {
            Some(credential) if credential.active != active => {
                credential.active = active;
                credential.updated = now();
                true
            }
            _ => false,
        };
        let registries = if changed { tx.commit_credentials(&[id])? } else { tx.abandon() };
        Ok(Toggled { registries, environment, id, changed, before })
    }

    /// Deletes a credential (rule 7): its metadata first, then its secret, so an
    /// interruption leaves at worst an orphaned secret that `doctor --fix` removes.
    /// `wants` is what the command read the store for ([`super::wants_for`]): it holds `id`.
    pub fn remove(&self, id: u64, environment: &str, wants: &Wants) -> Result<Credential, Error> {
        let mut tx = self.store.transaction_for(wants)?;
        let Some(index) = tx.credentials.iter().position(|c| c.id == id && c.environment == environment) else {
            return Err(Error::invalid(format!("credential {id} was deleted meanwhile"), None));
        };
        // Refuse up front rather than leave a secret behind that the user cannot see.
        self.check_stores_of(&tx.credentials[index..=index])?;
        let removed = tx.credentials.remove(index);
        tx.save_credentials(&[id])?;
        self.delete_secret(&tx.store_id, &removed)?;
        Ok(removed)
    }

    /// Removes the secret of a credential whose metadata is already gone (none was kept
    /// for one with `--secret-from-env`).
    fn delete_secret(&self, store_id: &str, credential: &Credential) -> Result<(), Error> {
        if credential.secret_env.is_some() {
            return Ok(());
        }
        self.secrets(credential.secret_store)
            .delete(&secret_key(store_id, credential))
            .map(drop)
            .map_err(|source| Error::SecretLeftBehind { id: credential.id, source })
    }

    /// Checks that the secret stores the credentials use answer before their metadata goes.
    fn check_stores_of(&self, credentials: &[Credential]) -> Result<(), Error> {
        for kind in SecretStoreKind::ALL {
            if credentials.iter().any(|c| c.keeps_secret_in(kind)) {
                self.secrets(kind).check()?;
            }
        }
        Ok(())
    }

    /// An environment that must exist.
    pub fn existing_environment(&self, registries: &Registries, name: &str) -> Result<(), Error> {
        if registries.environment(name).is_some() {
            return Ok(());
        }
        let names = registries.environments.iter().map(|e| e.name.as_str());
        Err(Error::invalid(
            format!("environment {name:?} does not exist"),
            super::did_you_mean(name, names).or_else(|| Some("list them with: regcred env list".into())),
        ))
    }

    /// Creates an environment (rule 4).
    pub fn create_env(&self, name: &str) -> Result<(), Error> {
        validate_name("environment name", name).map_err(|e| Error::invalid(e.to_string(), None))?;
        let mut tx = self.store.transaction()?;
        if tx.environment(name).is_some() {
            return Err(Error::invalid(
                format!("environment {name:?} already exists"),
                Some(format!("switch to it with: regcred env use {name}")),
            ));
        }
        tx.environments.push(Environment { name: name.to_owned(), created: now() });
        tx.commit()?;
        Ok(())
    }

    /// Makes an environment the current one; returns how many credentials it has.
    pub fn use_env(&self, name: &str) -> Result<usize, Error> {
        let mut tx = self.store.transaction()?;
        self.existing_environment(&tx, name)?;
        let count = tx.credentials_in(name).count();
        if tx.current_environment != name {
            tx.current_environment = name.to_owned();
            tx.commit()?;
        }
        Ok(count)
    }

    /// What can be said before asking to confirm an environment's deletion: it exists and
    /// is not the current one. Returns how many credentials it has.
    pub fn check_remove_env(&self, name: &str) -> Result<usize, Error> {
        let registries = self.store.load()?;
        self.existing_environment(&registries, name)?;
        if registries.current_environment == name {
            return Err(Error::invalid(
                format!("environment {name:?} is the current one and cannot be deleted"),
                Some("switch to another first: regcred env use OTHER".into()),
            ));
        }
        Ok(registries.credentials_in(name).count())
    }

    /// Deletes an environment, its credentials, their secrets and its TLS settings; returns
    /// how many credentials went.
    pub fn remove_env(&self, name: &str) -> Result<usize, Error> {
        let mut tx = self.store.transaction()?;
        self.existing_environment(&tx, name)?;
        let (removed, kept): (Vec<Credential>, Vec<Credential>) =
            std::mem::take(&mut tx.credentials).into_iter().partition(|c| c.environment == name);
        tx.credentials = kept;
        self.check_stores_of(&removed)?;
        tx.environments.retain(|e| e.name != name);
        tx.tls.retain(|t| t.environment != name);
        tx.save()?;
        for credential in &removed {
            self.delete_secret(&tx.store_id, credential)?;
        }
        Ok(removed.len())
    }

    /// Imports credentials found in a client's config: one lock, the secrets all at once,
    /// then the metadata (and the secrets undone if it cannot be written). A dry run takes
    /// no lock and writes nothing.
    pub fn import(&self, found: Vec<ImportItem>, dry_run: bool) -> Result<ImportOutcome, Error> {
        if dry_run {
            let mut registries = self.store.load()?;
            let environment = self.environment(&registries)?;
            let (items, added, _) = self.plan_import(&mut registries, &environment, found, true);
            return Ok(ImportOutcome { environment, items, imported: added.len() });
        }
        let mut tx = self.store.transaction()?;
        let environment = self.environment(&tx)?;
        let (items, added, kept) = self.plan_import(&mut tx, &environment, found, false);
        let store_id = tx.store_id.clone();
        let secrets = self.secrets(self.secret_store);
        let undo = || {
            for c in &added {
                let _ = secrets.delete(&secret_key(&store_id, c));
            }
        };
        let keys: Vec<(SecretKey<'_>, &Secret)> =
            added.iter().zip(&kept).map(|(c, secret)| (secret_key(&store_id, c), secret)).collect();
        if let Err(e) = secrets.set_many(&keys) {
            undo();
            return Err(e.into());
        }
        drop(keys);
        tx.credentials.extend(added.iter().cloned());
        if let Err(e) = tx.commit() {
            undo();
            return Err(e.into());
        }
        Ok(ImportOutcome { environment, items, imported: added.len() })
    }

    /// Applies the rules to what an import found: the new credentials (with ids from
    /// `registries`) and their secrets, and a line for each item.
    fn plan_import(
        &self,
        registries: &mut Registries,
        environment: &str,
        found: Vec<ImportItem>,
        dry_run: bool,
    ) -> (Vec<ImportLine>, Vec<Credential>, Vec<Secret>) {
        let mut items = Vec::new();
        let mut added: Vec<Credential> = Vec::new();
        let mut kept = Vec::new();
        // (address, username) → id of what the environment already holds, and what this import adds.
        let mut present: HashMap<(String, String), u64> =
            registries.credentials_in(environment).map(|c| ((c.address.clone(), c.username.clone()), c.id)).collect();
        for f in found {
            let scope = match f.scope {
                Ok(scope) => scope,
                Err(why) => {
                    items.push(ImportLine::new(f.key, f.username, Err(why)));
                    continue;
                }
            };
            let address = scope.to_string();
            let rules = check_username(&f.username).and_then(|()| check_email(f.email.as_deref()));
            let (secret, email) = match (f.secret, rules) {
                (Err(why), _) => {
                    items.push(ImportLine::new(address, f.username, Err(why)));
                    continue;
                }
                (_, Err(error)) => {
                    items.push(ImportLine::new(address, f.username, Err(error.to_string())));
                    continue;
                }
                (Ok(secret), Ok(email)) => (secret, email),
            };
            if let Some(id) = present.get(&(address.clone(), f.username.clone())) {
                items.push(ImportLine::new(address, f.username, Err(format!("already present as credential {id}"))));
                continue;
            }
            let credential = registries.new_credential(NewCredential {
                environment: environment.to_owned(),
                name: None,
                address: address.clone(),
                username: f.username.clone(),
                email,
                secret_store: self.secret_store,
            });
            let id = credential.id;
            items.push(ImportLine::new(address.clone(), f.username.clone(), Ok((!dry_run).then_some(id))));
            present.insert((address, f.username), id);
            kept.push(secret);
            added.push(credential);
        }
        (items, added, kept)
    }

    /// The credential helper's `store`: a repeated `docker login` replaces the credential
    /// with the same address and username rather than piling up history. The replacement is
    /// a re-addition ([`logins::relogin`]): it keeps its id and name, takes a new sequence
    /// and is added now.
    pub fn store_login(&self, address: &RegistryAddress, username: &str, secret: &Secret) -> Result<(), Error> {
        check_username(username)?;
        let whole = Scope::from_address(address.clone()).to_string();
        let mut tx = self.store.transaction()?;
        let environment = self.environment(&tx)?;
        let same = |c: &Credential| c.environment == environment && c.address == whole && c.username == username;
        let held: Vec<Held> = tx.credentials.iter().filter(|c| same(c)).map(Held::from).collect();
        let plan = logins::relogin(&held);
        let existing: Vec<Credential> = tx.credentials.iter().filter(|c| plan.drop.contains(&c.id)).cloned().collect();
        let kept = tx.credentials.iter().find(|c| Some(c.id) == plan.readd).cloned();
        let credential = match &kept {
            Some(old) => logins::readded(old, tx.next_sequence(), now(), self.secret_store),
            None => tx.new_credential(NewCredential {
                environment: environment.clone(),
                name: None,
                address: whole.clone(),
                username: username.to_owned(),
                email: None,
                secret_store: self.secret_store,
            }),
        };
        let store_id = tx.store_id.clone();
        let secrets = self.secrets(self.secret_store);
        // Whatever the login's store holds under the key (the credential's own secret, or a
        // stale one left by hand or by a killed command), so that a failed save puts back
        // exactly what was there.
        let previous = match &kept {
            Some(old) => secrets.get(&secret_key(&store_id, old))?,
            None => None,
        };
        secrets.set(&secret_key(&store_id, &credential), secret)?;
        tx.credentials.retain(|c| !same(c));
        tx.credentials.push(credential.clone());
        // Written whole, never as a journal record: the re-added credential moves to the end
        // of the list, which a record (that replaces a credential in place) does not say.
        if let Err(error) = tx.commit() {
            match previous {
                Some(old_secret) => {
                    let _ = secrets.set(&secret_key(&store_id, &credential), &old_secret);
                }
                None => {
                    let _ = secrets.delete(&secret_key(&store_id, &credential));
                }
            }
            return Err(error.into());
        }
        // Duplicates from before, and a replaced secret kept in the other store, go last.
        for old in existing.iter().chain(kept.iter().filter(|old| old.secret_store != self.secret_store)) {
            let _ = self.delete_secret(&store_id, old);
        }
        Ok(())
    }

    /// The credential helper's `erase` (a logout), by the rule of [`logins::erasure`]: the
    /// registry-wide credential `get` would have returned is deleted, metadata first, then
    /// its secret; the other active ones of that exact address, which would take over, are
    /// deactivated with their secrets kept. With nothing in use it changes nothing and
    /// succeeds (podman treats a failed `erase` as fatal).
    pub fn erase_login(&self, address: &RegistryAddress) -> Result<(), Error> {
        let whole = Scope::from_address(address.clone()).to_string();
        let mut tx = self.store.transaction()?;
        let environment = self.environment(&tx)?;
        let held: Vec<Held> = tx
            .credentials
            .iter()
            .filter(|c| c.environment == environment && c.address == whole)
            .map(Held::from)
            .collect();
        let plan = logins::erasure(&held);
        if plan.is_empty() {
            return Ok(());
        }
        let removed: Vec<Credential> = tx.credentials.iter().filter(|c| Some(c.id) == plan.delete).cloned().collect();
        self.check_stores_of(&removed)?;
        tx.credentials.retain(|c| Some(c.id) != plan.delete);
        let stamp = now();
        for c in tx.credentials.iter_mut().filter(|c| plan.deactivate.contains(&c.id)) {
            c.active = false;
            c.updated = stamp;
        }
        let changed: Vec<u64> = plan.delete.iter().chain(&plan.deactivate).copied().collect();
        tx.save_credentials(&changed)?;
        for c in &removed {
            self.delete_secret(&tx.store_id, c)?;
        }
        Ok(())
    }
}
