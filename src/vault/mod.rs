//! The vault: the floor under every command and the credential helper. It alone writes
//! files and talks to secret stores. Its operations ([`Vault::add`], [`Vault::edit`],
//! [`Vault::set_active`], [`Vault::remove`], [`Vault::remove_env`], [`Vault::import`],
//! [`Vault::secret_of`] and [`Vault::secret_cache`], the helper's `store` and `erase`) own the write ordering (secret
//! first, metadata second, and the secret undone when the metadata cannot be written), the
//! rules for names, usernames and e-mails, and the "secret missing" and "variable unset"
//! errors, once.
//!
//! The vault never prints: what it has to say beside its result (a file others can read)
//! is collected in [`Warnings`] for the command to print, and a wait is announced through
//! the [`Patience`] the command gave it.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use regcred_core::{Candidate, RegistryAddress, Scope, Status, check_text, validate_credential_name};

pub mod clients;
pub mod exec_dir;
pub mod fs;
pub mod secret_cache;
pub mod secrets;
pub mod store;

mod doctor;
mod error;
mod logins;
mod ops;
pub mod secret_env;

pub use error::{Error, NOT_FOUND};
pub use ops::{AddRequest, Changes, ImportItem, NewTls, SecretSource};
use secrets::{Secret, SecretKey, SecretStore, SecretStoreKind};
use store::{Credential, Registries, Store, Wants};

/// Every file the config dir holds that regcred replaces atomically: their temporary
/// files (and only theirs) are swept when a writer was killed.
pub(crate) const CONFIG_FILES: [&str; 3] = [store::STORE_FILE, store::JOURNAL_FILE, secrets::FILE_NAME];
/// The temporary names older versions used (prefix, six alphanumerics, suffix), swept too.
pub(crate) const LEGACY_TEMP_NAMES: [(&str, &str); 2] = [(".regcred-", ".tmp"), (".secrets.toml.", "")];

/// Something the vault has to say beside its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// A file holding credentials that other users can read.
    ReadableByOthers { path: std::path::PathBuf, mode: u32 },
    /// A credential reads its secret from a variable that is not set here (doctor).
    SecretVariableUnset { credential: String, var: String },
    /// `edit --secret-from-env`: the secret the credential kept before could not be removed.
    SecretKeptBehind { id: u64, cause: String },
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::ReadableByOthers { path, mode } => write!(
                f,
                "{0} is readable by other users (mode {mode:04o}); make it private with: chmod 600 {0}",
                path.display()
            ),
            Warning::SecretVariableUnset { credential, var } => write!(
                f,
                "credential {credential} reads its secret from {var}, which is not set here; set it wherever the \
                 credential is used"
            ),
            Warning::SecretKeptBehind { id, cause } => write!(
                f,
                "the secret credential {id} kept before could not be removed ({cause}); `regcred doctor --fix` removes it"
            ),
        }
    }
}

/// The warnings of one process, each said once however often its file is read. Clones
/// share the list.
#[derive(Clone, Default)]
pub struct Warnings(Arc<Mutex<Vec<(Warning, bool)>>>);

impl Warnings {
    pub fn push(&self, warning: Warning) {
        let mut list = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if !list.iter().any(|(w, _)| *w == warning) {
            list.push((warning, false));
        }
    }

    /// The warnings not taken before.
    pub fn take(&self) -> Vec<Warning> {
        let mut list = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        list.iter_mut()
            .filter(|(_, taken)| !*taken)
            .map(|(w, taken)| {
                *taken = true;
                w.clone()
            })
            .collect()
    }
}

/// How long the vault waits for another process (the store's lock, the Secret Service)
/// and how it says what it waits for.
#[derive(Clone)]
pub struct Patience {
    /// Give up after this long (`REGCRED_TIMEOUT`, default 30 s).
    pub timeout: Duration,
    /// Say what is awaited after this long.
    pub announce_after: Duration,
    announce: Arc<dyn Fn(&str) + Send + Sync>,
}

impl Patience {
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

    pub fn new(timeout: Duration, announce: impl Fn(&str) + Send + Sync + 'static) -> Patience {
        Patience { timeout, announce_after: Duration::from_secs(1), announce: Arc::new(announce) }
    }

    /// Says (through the command's function) what is awaited.
    pub fn announce(&self, what: &str) {
        (self.announce)(what);
    }
}

impl Default for Patience {
    fn default() -> Patience {
        Patience::new(Patience::DEFAULT_TIMEOUT, |_| {})
    }
}

/// The store, where new secrets go, and which environment is meant: what every operation
/// needs.
pub struct Vault {
    pub store: Store,
    /// Where new secrets go.
    pub secret_store: SecretStoreKind,
    env_override: Option<String>,
}

impl Vault {
    pub fn new(store: Store, secret_store: SecretStoreKind, env_override: Option<String>) -> Vault {
        Vault { store, secret_store, env_override: env_override.filter(|e| !e.is_empty()) }
    }

    /// `-e`/`$REGCRED_ENV`, if given.
    pub fn env_override(&self) -> Option<&str> {
        self.env_override.as_deref()
    }

    /// The warnings collected so far that were not taken yet.
    pub fn take_warnings(&self) -> Vec<Warning> {
        self.store.warnings().take()
    }

    /// The environment to work in: `-e`/`$REGCRED_ENV`, else the store's current one. It
    /// must exist.
    pub fn environment(&self, registries: &Registries) -> Result<String, Error> {
        let name = self.env_override.clone().unwrap_or_else(|| registries.current_environment.clone());
        if registries.environment(&name).is_none() {
            let names = registries.environments.iter().map(|e| e.name.as_str());
            return Err(Error::invalid(
                format!("environment {name:?} does not exist"),
                did_you_mean(&name, names).or_else(|| Some(format!("create it with: regcred env create {name}"))),
            ));
        }
        Ok(name)
    }

    /// [`select`] in a reading made for [`wants_for`] the selector, which a store with a
    /// journal keeps partial: where the selector is not found there, the whole store is read,
    /// so that the error is the one `select` gives (an id of another environment, "did you
    /// mean …?").
    pub fn select_wanted(
        &self,
        registries: &Registries,
        environment: &str,
        selector: &str,
    ) -> Result<Credential, Error> {
        match select(registries, environment, selector) {
            Ok(credential) => Ok(credential.clone()),
            Err(_) => Ok(select(&self.store.load()?, environment, selector)?.clone()),
        }
    }

    /// The secret store a credential's secret lives in.
    pub fn secrets(&self, kind: SecretStoreKind) -> Box<dyn SecretStore> {
        secrets::open(kind, &self.store)
    }

    /// The secret of one credential, from wherever it lives (with `--secret-from-env`, the
    /// variable's value, read now). A secret that should be there and is not is an error,
    /// never an empty password. A command that needs the secrets of several credentials
    /// keeps a [`Vault::secret_cache`] instead, which reads each once.
    pub fn secret_of(&self, store_id: &str, credential: &Credential) -> Result<Secret, Error> {
        self.secret_cache(store_id).take(credential)
    }
}

/// The keyring/file key of a credential's secret.
pub fn secret_key<'a>(store_id: &'a str, credential: &'a Credential) -> SecretKey<'a> {
    SecretKey {
        store_id,
        id: credential.id,
        environment: &credential.environment,
        address: &credential.address,
        username: &credential.username,
    }
}

/// `1 (bob @ docker.io)`, `1 (ci: bob @ docker.io)`: how messages name a credential.
pub fn describe(c: &Credential) -> String {
    match &c.name {
        Some(name) => format!("{} ({name}: {} @ {})", c.id, c.username, c.address),
        None => format!("{} ({} @ {})", c.id, c.username, c.address),
    }
}

/// The parsed scope of a stored credential; a stored address that does not parse is an
/// error of the store.
pub fn scope_of(credential: &Credential) -> Result<Scope, Error> {
    Scope::parse(&credential.address)
        .map_err(|e| Error::Store(store::StoreError::BadAddress { id: credential.id, error: e.to_string() }))
}

/// "did you mean …?" for a mistyped name, when one is close enough.
pub fn did_you_mean<'a>(typed: &str, known: impl Iterator<Item = &'a str>) -> Option<String> {
    known
        .map(|k| (strsim::jaro_winkler(typed, k), k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| format!("did you mean {k:?}?"))
}

/// Finds the credential a SELECTOR means in `environment`: an id, a name, or an address
/// (the most recently added credential for exactly that address).
pub fn select<'a>(registries: &'a Registries, environment: &'a str, selector: &str) -> Result<&'a Credential, Error> {
    let selector = selector.trim();
    if let Ok(id) = selector.parse::<u64>() {
        return match registries.credential(id) {
            Some(c) if c.environment == environment => Ok(c),
            Some(c) => Err(Error::invalid(
                format!("credential {id} is in environment {:?}, not {environment:?}", c.environment),
                Some(format!("add -e {} to work in that environment", c.environment)),
            )),
            None => Err(Error::invalid(
                format!("no credential with id {id} in environment {environment:?}"),
                Some("see the ids with: regcred list".into()),
            )),
        };
    }
    let mut in_env = registries.credentials_in(environment);
    if let Some(c) = in_env.find(|c| c.name.as_deref() == Some(selector)) {
        return Ok(c);
    }
    let unknown = || {
        let known: Vec<&str> = registries
            .credentials_in(environment)
            .flat_map(|c| c.name.as_deref().into_iter().chain(std::iter::once(c.address.as_str())))
            .collect();
        Error::invalid(
            format!("no credential {selector:?} in environment {environment:?}"),
            did_you_mean(selector, known.into_iter())
                .or_else(|| Some("a selector is an id, a name or an address; see them with: regcred list".into())),
        )
    };
    let scope = match Scope::parse(selector) {
        Ok(scope) => scope.to_string(),
        // `https://host[:port][/path]`, as docker writes server URLs (and the helper takes
        // them): the address with the scheme dropped, as the error would have suggested.
        Err(regcred_core::ScopeError::Scheme { suggestion: Some(scope), .. }) if http_url(selector) => scope,
        Err(_) => return Err(unknown()),
    };
    registries.credentials_in(environment).filter(|c| c.address == scope).max_by_key(|c| c.sequence).ok_or_else(unknown)
}

/// What a write that selects a credential by SELECTOR (and may give it `new_name`) reads of a
/// big store: the credential of that id, name or address, and any with the new name.
/// `environment`: the `-e` given, else the store's current one.
pub fn wants_for(environment: Option<&str>, selector: &str, new_name: Option<&str>) -> Wants {
    let selector = selector.trim();
    let scope = match Scope::parse(selector) {
        Ok(scope) => Some(scope),
        Err(regcred_core::ScopeError::Scheme { suggestion: Some(scope), .. }) if http_url(selector) => {
            Scope::parse(&scope).ok()
        }
        Err(_) => None,
    };
    Wants {
        environment: environment.map(str::to_owned),
        ids: selector.parse().into_iter().collect(),
        names: std::iter::once(selector).chain(new_name).map(str::to_owned).collect(),
        addresses: scope.iter().map(Scope::to_string).collect(),
        registries: Vec::new(),
    }
}

/// Whether `text` starts with `http://` or `https://`, the schemes docker writes.
fn http_url(text: &str) -> bool {
    let lower = text.get(..8).unwrap_or(text).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// The credentials of one environment with their parsed scopes, ready for the selection
/// rule.
pub struct EnvCredentials<'a> {
    pub records: Vec<&'a Credential>,
    pub scopes: Vec<Scope>,
}

impl<'a> EnvCredentials<'a> {
    pub fn new(registries: &'a Registries, environment: &str) -> Result<Self, Error> {
        let records: Vec<&Credential> =
            registries.credentials.iter().filter(|c| c.environment == environment).collect();
        let scopes = records
            .iter()
            .map(|c| {
                Scope::parse(&c.address)
                    .map_err(|e| Error::Store(store::StoreError::BadAddress { id: c.id, error: e.to_string() }))
            })
            .collect::<Result<_, _>>()?;
        Ok(EnvCredentials { records, scopes })
    }

    /// Only the credentials of one environment that may be on `address`'s registry (a cheap
    /// text test, [`Scope::may_have_address`], before any parsing). Their statuses are
    /// exact: a status depends only on credentials with the same scope, which are all here.
    /// Spares parsing every scope of a large environment to report on one registry.
    pub fn on_registry(
        registries: &'a Registries,
        environment: &str,
        address: &RegistryAddress,
    ) -> Result<Self, Error> {
        let mut records = Vec::new();
        let mut scopes = Vec::new();
        for c in registries.credentials.iter().filter(|c| c.environment == environment) {
            if !Scope::may_have_address(&c.address, address) {
                continue;
            }
            let scope = Scope::parse(&c.address)
                .map_err(|e| Error::Store(store::StoreError::BadAddress { id: c.id, error: e.to_string() }))?;
            if scope.address() == address {
                records.push(c);
                scopes.push(scope);
            }
        }
        Ok(EnvCredentials { records, scopes })
    }

    pub fn candidates(&self) -> Vec<Candidate<'_>> {
        self.records
            .iter()
            .zip(&self.scopes)
            .map(|(c, scope)| Candidate { id: c.id, scope, sequence: c.sequence, active: c.active })
            .collect()
    }

    /// The candidates docker's rule sees: docker asks the credential helper per registry
    /// only, so only registry-wide credentials reach it (as in [`Self::in_use_for_docker`]).
    pub fn registry_wide_candidates(&self) -> Vec<Candidate<'_>> {
        self.candidates().into_iter().filter(|c| c.scope.path().is_none()).collect()
    }

    pub fn statuses(&self) -> Vec<Status> {
        regcred_core::statuses(&self.candidates())
    }

    pub fn status_of(&self, id: u64) -> Option<Status> {
        let index = self.records.iter().position(|c| c.id == id)?;
        self.statuses().get(index).copied()
    }

    /// The credential a docker pull from this host would use: the newest active credential
    /// for the whole registry. Scoped credentials apply to some repositories only and docker
    /// does not say which repository it wants, so they are never handed out to it.
    pub fn in_use_for_docker(&self, address: &RegistryAddress) -> Option<&'a Credential> {
        self.records
            .iter()
            .zip(&self.scopes)
            .filter(|(c, scope)| c.active && scope.path().is_none() && scope.address() == address)
            .max_by_key(|(c, _)| c.sequence)
            .map(|(c, _)| *c)
    }

    /// Of the credentials `ids` (what `exec --image` chose, scoped ones included), the one
    /// for this host, if it is still active.
    pub fn selected_for(&self, address: &RegistryAddress, ids: &[u64]) -> Option<&'a Credential> {
        self.records
            .iter()
            .zip(&self.scopes)
            .find(|(c, scope)| c.active && ids.contains(&c.id) && scope.address() == address)
            .map(|(c, _)| *c)
    }
}

// ---------------------------------------------------------------------------------------
// Rules for what is stored
// ---------------------------------------------------------------------------------------

/// A username must be usable in HTTP Basic authentication, and never hold a character that
/// could forge or hide what is printed.
pub fn check_username(username: &str) -> Result<(), Error> {
    if username.is_empty() {
        return Err(Error::invalid("the username is empty", Some("give it with -u USER".into())));
    }
    if username.contains(':') {
        return Err(Error::invalid(
            format!(
                "the username {username:?} contains ':', which registries cannot accept (HTTP Basic authentication)"
            ),
            None,
        ));
    }
    if username.chars().any(char::is_control) || username.trim() != username {
        return Err(Error::invalid(
            format!("the username {username:?} has spaces at its ends or control characters"),
            None,
        ));
    }
    check_text("username", username).map_err(|e| Error::invalid(e.to_string(), None))
}

/// An empty e-mail means none; anything else must look like an address.
pub fn check_email(email: Option<&str>) -> Result<Option<String>, Error> {
    match email {
        None | Some("") => Ok(None),
        Some(e)
            if e.contains('@')
                && !e.starts_with('@')
                && !e.ends_with('@')
                && !e.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            check_text("e-mail", e).map_err(|err| Error::invalid(err.to_string(), None))?;
            Ok(Some(e.to_owned()))
        }
        Some(e) => Err(Error::invalid(
            format!("{e:?} is not an e-mail address"),
            Some("use the form name@example.com, or leave --email out".into()),
        )),
    }
}

/// A credential name: DNS-label style, and not all digits, which would read as an id
/// (PRODUCT.md rule 1).
pub fn check_name(name: &str) -> Result<(), Error> {
    validate_credential_name(name).map_err(|e| Error::invalid(e.to_string(), None))
}

/// Refuses a name another credential of the environment already has.
pub fn check_name_free(
    registries: &Registries,
    environment: &str,
    name: Option<&str>,
    except: Option<u64>,
) -> Result<(), Error> {
    let Some(name) = name else { return Ok(()) };
    match registries.credentials_in(environment).find(|c| c.name.as_deref() == Some(name) && Some(c.id) != except) {
        Some(taken) => Err(Error::invalid(
            format!("the name {name:?} is already used by credential {} in environment {environment:?}", taken.id),
            except
                .is_none()
                .then(|| "choose another name, or rename the other one with: regcred edit ID --name NEW".into()),
        )),
        None => Ok(()),
    }
}

/// The narrow view of the vault that the integration tests and the fuzz targets use: read
/// a store and its secrets the way regcred does, and play a writer.
#[doc(hidden)]
pub mod testing {
    use std::path::Path;

    pub use super::secrets::{Secret, SecretKey, SecretStore, SecretStoreKind};
    pub use super::store::{Credential, MAX_RECORDS, Registries, Store, StoreError, Tx, now};

    /// The store in `dir`, with default patience and its own warnings.
    pub fn store(dir: &Path) -> Store {
        Store::new(dir.to_owned(), Default::default(), Default::default())
    }

    /// The secret store of `kind` for the config dir `dir`.
    pub fn secrets(kind: SecretStoreKind, dir: &Path) -> Box<dyn SecretStore> {
        super::secrets::open(kind, &store(dir))
    }
}
