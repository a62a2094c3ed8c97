//! What `registries.toml` holds: the store's data model and the rules a loaded store must
//! keep (ids never reused, the addition order, names unique per environment).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::DEFAULT_ENVIRONMENT;
use crate::vault::secrets::SecretStoreKind;

/// Everything `registries.toml` holds.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registries {
    pub version: u32,
    /// Random id of this store; keyring items carry it so two config dirs sharing one
    /// keyring never see each other's secrets.
    pub store_id: String,
    pub current_environment: String,
    /// Ids are never reused, so the next one is remembered rather than derived.
    pub next_id: u64,
    /// The addition order of rule 5: monotonic, never wall-clock time.
    pub next_sequence: u64,
    /// A big store's journal generation: `registries.journal` holds the credential changes
    /// made since this file was written whole when its header names this generation (see
    /// `journal.rs`). Absent from a store that is written whole at every change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal: Option<u64>,
    #[serde(default)]
    pub environments: Vec<Environment>,
    #[serde(default)]
    pub credentials: Vec<Credential>,
    /// Per-registry TLS settings (`regcred tls`). Optional, so files written before it
    /// existed stay valid and a store without any keeps exactly its old form.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tls: Vec<TlsSetting>,
}

/// One environment.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Environment {
    pub name: String,
    #[serde(with = "time::serde::rfc3339")]
    pub created: OffsetDateTime,
}

/// One credential's metadata. The secret lives in the secret store named here.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Credential {
    pub id: u64,
    pub environment: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Canonical scope: `docker.io`, `quay.io/myorg`, `registry.example.com:5000`.
    pub address: String,
    pub username: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    pub active: bool,
    pub sequence: u64,
    /// Where the secret was put when the credential was added; reads always go there.
    #[serde(with = "secret_store_kind")]
    pub secret_store: SecretStoreKind,
    /// `--secret-from-env VAR`: no secret is kept anywhere; it is read from `VAR` at each
    /// use (CI secret variables). `secret_store` then only says where a secret entered
    /// later would go.
    #[serde(default, rename = "secret_from_env", skip_serializing_if = "Option::is_none")]
    pub secret_env: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub added: OffsetDateTime,
    #[serde(with = "time::serde::rfc3339")]
    pub updated: OffsetDateTime,
}

impl Credential {
    /// Whether its secret is kept in `kind` (one with `--secret-from-env` keeps none).
    pub fn keeps_secret_in(&self, kind: SecretStoreKind) -> bool {
        self.secret_store == kind && self.secret_env.is_none()
    }
}

/// How regcred talks TLS to one registry in one environment. No entry means: HTTPS, verified
/// against the system's CA certificates.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSetting {
    pub environment: String,
    /// Canonical `host[:port]` (never a scope: TLS belongs to the server).
    pub address: String,
    /// docker's insecure registry: HTTPS without verification, then plain HTTP.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub insecure: bool,
    /// Certificates (PEM) trusted for this registry besides the system's: a private CA or a
    /// pinned self-signed certificate. Public data, so it lives here, not in a secret store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<String>,
    #[serde(with = "time::serde::rfc3339")]
    pub updated: OffsetDateTime,
}

mod secret_store_kind {
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    use crate::vault::secrets::SecretStoreKind;

    pub fn serialize<S: Serializer>(kind: &SecretStoreKind, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(kind)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<SecretStoreKind, D::Error> {
        let word = String::deserialize(d)?;
        word.parse().map_err(|_| D::Error::custom(format!("unknown secret store {word:?}")))
    }
}

/// The current time, at the one-second precision the store and the JSON output use.
pub fn now() -> OffsetDateTime {
    let now = OffsetDateTime::now_utc();
    now.replace_nanosecond(0).unwrap_or(now)
}

impl Registries {
    /// A store as it is before anything was ever written: one environment, `default`.
    pub fn fresh() -> Self {
        Registries {
            version: super::FIRST_VERSION,
            store_id: random_id(),
            current_environment: DEFAULT_ENVIRONMENT.to_owned(),
            next_id: 1,
            next_sequence: 1,
            journal: None,
            environments: vec![Environment { name: DEFAULT_ENVIRONMENT.to_owned(), created: now() }],
            credentials: Vec::new(),
            tls: Vec::new(),
        }
    }

    pub fn environment(&self, name: &str) -> Option<&Environment> {
        self.environments.iter().find(|e| e.name == name)
    }

    pub fn credentials_in<'a>(&'a self, environment: &'a str) -> impl Iterator<Item = &'a Credential> + 'a {
        self.credentials.iter().filter(move |c| c.environment == environment)
    }

    pub fn credential(&self, id: u64) -> Option<&Credential> {
        self.credentials.iter().find(|c| c.id == id)
    }

    pub fn credential_mut(&mut self, id: u64) -> Option<&mut Credential> {
        self.credentials.iter_mut().find(|c| c.id == id)
    }

    pub fn tls_in<'a>(&'a self, environment: &'a str) -> impl Iterator<Item = &'a TlsSetting> + 'a {
        self.tls.iter().filter(move |t| t.environment == environment)
    }

    pub fn tls_setting(&self, environment: &str, address: &str) -> Option<&TlsSetting> {
        self.tls.iter().find(|t| t.environment == environment && t.address == address)
    }

    /// Replaces the TLS setting of `setting.address` in its environment.
    pub fn set_tls(&mut self, setting: TlsSetting) {
        self.tls.retain(|t| !(t.environment == setting.environment && t.address == setting.address));
        self.tls.push(setting);
        self.tls.sort_by(|a, b| (&a.environment, &a.address).cmp(&(&b.environment, &b.address)));
    }

    /// Removes the TLS setting of `address`; whether there was one.
    pub fn unset_tls(&mut self, environment: &str, address: &str) -> bool {
        let before = self.tls.len();
        self.tls.retain(|t| !(t.environment == environment && t.address == address));
        self.tls.len() != before
    }

    /// Takes the next id and addition sequence.
    pub fn allocate(&mut self) -> (u64, u64) {
        let allocated = (self.next_id, self.next_sequence);
        self.next_id += 1;
        self.next_sequence += 1;
        allocated
    }

    /// Takes the next addition sequence alone: a credential that is added again (a repeated
    /// `docker login`) keeps its id but becomes the most recently added.
    pub fn next_sequence(&mut self) -> u64 {
        self.next_sequence += 1;
        self.next_sequence - 1
    }

    /// A new active credential with the next id and sequence, stamped now. It is not in the
    /// store until the caller pushes it (after its secret is stored).
    pub fn new_credential(&mut self, new: NewCredential) -> Credential {
        let (id, sequence) = self.allocate();
        let stamp = now();
        Credential {
            id,
            environment: new.environment,
            name: new.name,
            address: new.address,
            username: new.username,
            email: new.email,
            active: true,
            sequence,
            secret_store: new.secret_store,
            secret_env: None,
            added: stamp,
            updated: stamp,
        }
    }
}

#[cfg(test)]
impl Credential {
    /// A credential for tests: active, its secret in the file store, its sequence its id,
    /// added and updated now.
    pub(crate) fn for_test(id: u64, environment: &str, address: &str) -> Credential {
        let stamp = now();
        Credential {
            id,
            environment: environment.into(),
            name: None,
            address: address.into(),
            username: "u".into(),
            email: None,
            active: true,
            sequence: id,
            secret_store: SecretStoreKind::File,
            secret_env: None,
            added: stamp,
            updated: stamp,
        }
    }
}

/// What a caller decides about a new credential; ids, order and timestamps are the store's.
pub struct NewCredential {
    pub environment: String,
    pub name: Option<String>,
    /// Canonical scope.
    pub address: String,
    pub username: String,
    pub email: Option<String>,
    pub secret_store: SecretStoreKind,
}

/// What a hand edit may have broken that regcred relies on: an id handed out twice would
/// make two credentials share one secret (and a new one overwrite an old one's).
pub(super) fn inconsistency(registries: &Registries) -> Option<String> {
    use std::collections::HashSet;
    let mut environments = HashSet::new();
    for environment in &registries.environments {
        if !environments.insert(environment.name.as_str()) {
            return Some(format!("environment {:?} appears twice", environment.name));
        }
    }
    if !environments.contains(registries.current_environment.as_str()) {
        return Some(format!("the current environment {:?} is not listed", registries.current_environment));
    }
    // Ids are allocated in ascending order and credentials appended, so in a store regcred
    // wrote they ascend and none can repeat: the set is built only from the first one out
    // of order (a store edited by hand), and the environment is looked up only when it
    // differs from the previous credential's (10,000 SipHash lookups each were 5 M
    // instructions of every write).
    let mut ids: Option<HashSet<u64>> = None;
    let mut names = HashSet::new();
    let credentials = &registries.credentials;
    for (i, c) in credentials.iter().enumerate() {
        let previous = i.checked_sub(1).map(|p| &credentials[p]);
        if ids.is_none() && previous.is_some_and(|p| p.id >= c.id) {
            ids = Some(credentials[..i].iter().map(|c| c.id).collect());
        }
        if let Some(ids) = &mut ids
            && !ids.insert(c.id)
        {
            return Some(format!("credential id {} appears twice", c.id));
        }
        if c.id >= registries.next_id {
            return Some(format!("credential id {} is not below next_id = {}", c.id, registries.next_id));
        }
        if c.sequence >= registries.next_sequence {
            return Some(format!(
                "credential {} has sequence {}, not below next_sequence = {}",
                c.id, c.sequence, registries.next_sequence
            ));
        }
        if previous.is_none_or(|p| p.environment != c.environment) && !environments.contains(c.environment.as_str()) {
            return Some(format!(
                "credential {} belongs to environment {:?}, which is not listed",
                c.id, c.environment
            ));
        }
        if let Some(name) = &c.name
            && !names.insert((c.environment.as_str(), name.as_str()))
        {
            return Some(format!("the name {name:?} is used twice in environment {:?}", c.environment));
        }
    }
    None
}

/// 128 random bits as hex, from the standard library's randomly keyed hasher (no crate
/// needed for an identifier that only has to be unique).
fn random_id() -> String {
    use std::hash::{BuildHasher, Hasher};
    let mut out = String::with_capacity(32);
    for salt in 0..2u8 {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u8(salt);
        hasher.write_u128(OffsetDateTime::now_utc().unix_timestamp_nanos() as u128);
        hasher.write_u32(std::process::id());
        out.push_str(&format!("{:016x}", hasher.finish()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A store with credentials of these ids (and environments), in this order.
    fn with_ids(ids: &[(u64, &str)]) -> Registries {
        let mut registries = Registries::fresh();
        registries.environments.push(Environment { name: "staging".into(), created: now() });
        for (id, environment) in ids {
            let (_, sequence) = registries.allocate();
            registries.credentials.push(Credential { sequence, ..Credential::for_test(*id, environment, "quay.io") });
        }
        registries.next_id = 100;
        registries
    }

    #[test]
    fn ids_out_of_order_are_fine_and_a_repeated_id_is_found_wherever_it_is() {
        assert_eq!(inconsistency(&with_ids(&[(1, "default"), (2, "staging"), (5, "staging")])), None);
        assert_eq!(inconsistency(&with_ids(&[(5, "default"), (2, "default"), (9, "staging"), (3, "default")])), None);
        for ids in [
            &[(1, "default"), (2, "default"), (2, "default")][..],
            &[(3, "default"), (1, "default"), (4, "default"), (1, "staging")],
            &[(7, "default"), (8, "staging"), (2, "default"), (7, "staging")],
        ] {
            let found = inconsistency(&with_ids(ids));
            let repeated = ids.last().unwrap().0;
            assert_eq!(found, Some(format!("credential id {repeated} appears twice")), "{ids:?}");
        }
        let unlisted = with_ids(&[(1, "default"), (2, "default"), (3, "gone")]);
        assert_eq!(
            inconsistency(&unlisted),
            Some("credential 3 belongs to environment \"gone\", which is not listed".to_owned())
        );
    }

    #[test]
    fn random_ids_differ() {
        assert_ne!(random_id(), random_id());
        assert_eq!(random_id().len(), 32);
    }
}
