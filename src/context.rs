//! What every command needs: the store, the chosen secret store, the environment choice and
//! the output settings. Built once in `main` from the global options.

use std::path::PathBuf;

use regcred_core::{Candidate, Scope, Status};

use crate::cli::GlobalArgs;
use crate::exit::{Failure, input_error};
use crate::output::Output;
use crate::secrets::{self, SecretError, SecretKey, SecretStore, SecretStoreKind};
use crate::store::{Credential, Registries, Store};

pub struct Context {
    pub store: Store,
    /// Where new secrets go.
    pub secret_store: SecretStoreKind,
    env_override: Option<String>,
    pub out: Output,
}

impl Context {
    pub fn new(global: &GlobalArgs) -> Result<Self, Failure> {
        let store = Store::locate(global.config_dir.clone().filter(|p| p != &PathBuf::new()))?;
        Ok(Context {
            store,
            secret_store: global.secret_store,
            env_override: global.env.clone().filter(|e| !e.is_empty()),
            out: Output::new(global.color, global.quiet),
        })
    }

    /// `-e`/`$REGCRED_ENV`, if given.
    pub fn env_override(&self) -> Option<&str> {
        self.env_override.as_deref()
    }

    /// The environment to work in: `-e`/`$REGCRED_ENV`, else the store's current one. It
    /// must exist.
    pub fn environment(&self, registries: &Registries) -> Result<String, Failure> {
        let name = self.env_override.clone().unwrap_or_else(|| registries.current_environment.clone());
        if registries.environment(&name).is_none() {
            let names = registries.environments.iter().map(|e| e.name.as_str());
            return Err(input_error!("environment {name:?} does not exist").maybe_hint(
                did_you_mean(&name, names).or_else(|| Some(format!("create it with: regcred env create {name}"))),
            ));
        }
        Ok(name)
    }

    /// The secret store a credential's secret lives in.
    pub fn secrets(&self, kind: SecretStoreKind) -> Box<dyn SecretStore> {
        secrets::open(kind, self.store.dir())
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

/// The secret of a credential, wherever it comes from: its secret store, or the environment
/// variable it names (`--secret-from-env`). A missing secret is an error, never an empty one.
pub fn secret_of(ctx: &Context, store_id: &str, credential: &Credential) -> Result<secrets::Secret, Failure> {
    if let Some(var) = &credential.secret_env {
        return crate::secret_env::read(credential, var);
    }
    let store = ctx.secrets(credential.secret_store);
    store.get(&secret_key(store_id, credential)).map_err(secret_failure)?.ok_or_else(|| {
        Failure::operational(format!("the secret of credential {} is missing from {}", credential.id, store.location()))
            .hint("run `regcred doctor` to check the store, then re-enter it with `regcred edit`")
    })
}

pub fn secret_failure(error: SecretError) -> Failure {
    let hint = error.hint();
    Failure::operational(error.to_string()).maybe_hint(hint)
}

/// "did you mean …?" for a mistyped name, when one is close enough.
pub fn did_you_mean<'a>(typed: &str, known: impl Iterator<Item = &'a str>) -> Option<String> {
    known
        .map(|k| (strsim::jaro_winkler(typed, k), k))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| format!("did you mean {k:?}?"))
}

/// The credentials of one environment with their parsed scopes, ready for the selection
/// rule.
pub struct EnvCredentials<'a> {
    pub records: Vec<&'a Credential>,
    pub scopes: Vec<Scope>,
}

impl<'a> EnvCredentials<'a> {
    pub fn new(registries: &'a Registries, environment: &str) -> Result<Self, Failure> {
        let records: Vec<&Credential> =
            registries.credentials.iter().filter(|c| c.environment == environment).collect();
        let scopes = records
            .iter()
            .map(|c| {
                Scope::parse(&c.address).map_err(|e| {
                    Failure::operational(format!("credential {} in the store has a bad address: {e}", c.id))
                        .hint("fix registries.toml by hand or delete the credential")
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(EnvCredentials { records, scopes })
    }

    pub fn candidates(&self) -> Vec<Candidate<'_>> {
        self.records
            .iter()
            .zip(&self.scopes)
            .map(|(c, scope)| Candidate { id: c.id, scope, sequence: c.sequence, active: c.active })
            .collect()
    }

    pub fn statuses(&self) -> Vec<Status> {
        regcred_core::statuses(&self.candidates())
    }

    pub fn status_of(&self, id: u64) -> Option<Status> {
        let index = self.records.iter().position(|c| c.id == id)?;
        self.statuses().get(index).copied()
    }
}
