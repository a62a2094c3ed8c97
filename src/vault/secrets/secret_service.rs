//! The Secret Service (gnome-keyring, KeePassXC, KWallet) over the D-Bus session bus.
//!
//! One item per credential in the default collection, found by exact attributes:
//! `service=regcred`, `regcred_store=<store id>`, `regcred_id=<credential id>`. The item
//! also carries `environment`, `address` and `username` so a person can tell what it is.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use dbus_secret_service::{EncryptionType, Error as SsError, Item, SecretService};
use zeroize::Zeroize;

use super::{SERVICE, Secret, SecretError, SecretKey, SecretStore, SecretStoreKind};
use crate::vault::Patience;

const STORE_ATTR: &str = "regcred_store";
const ID_ATTR: &str = "regcred_id";

/// Seconds to wait for the user to answer an unlock prompt, when there is a display
/// to show one on. Without a display nobody can answer, so we never prompt.
const PROMPT_TIMEOUT_SECS: u64 = 120;

/// Secrets cross the private session bus unencrypted. The Diffie-Hellman session
/// (`EncryptionType::Dh`, crate feature `crypto-rust`) would keep them out of libdbus's
/// message buffers, which nobody wipes, but its pure-Rust key exchange costs ~10 ms per
/// process, three times the whole rest of a lookup. The bus is the user's own.
const ENCRYPTION: EncryptionType = EncryptionType::Plain;

pub(crate) struct SecretServiceStore {
    /// Connected on first use; a failed attempt is retried by the next call.
    service: Mutex<Option<SecretService>>,
    #[allow(dead_code)]
    patience: Patience,
}

impl SecretServiceStore {
    pub(crate) fn new(patience: Patience) -> Self {
        SecretServiceStore { service: Mutex::new(None), patience }
    }

    fn with_service<T>(&self, f: impl FnOnce(&SecretService) -> Result<T, SecretError>) -> Result<T, SecretError> {
        let mut guard = self.service.lock().unwrap_or_else(PoisonError::into_inner);
        let service = match guard.take() {
            Some(service) => guard.insert(service),
            None => guard.insert(connect()?),
        };
        f(service)
    }
}

fn connect() -> Result<SecretService, SecretError> {
    let prompt_timeout = if graphical_session() { PROMPT_TIMEOUT_SECS } else { 0 };
    SecretService::connect_with_max_prompt_timeout(ENCRYPTION, prompt_timeout)
        .map_err(|err| classify_connect_error(&err, bus_reachable()))
}

fn graphical_session() -> bool {
    ["DISPLAY", "WAYLAND_DISPLAY"].iter().any(|var| std::env::var_os(var).is_some_and(|v| !v.is_empty()))
}

/// Only asked after a failed connect, to tell "no bus" from "no Secret Service".
fn bus_reachable() -> Result<(), String> {
    dbus::blocking::Connection::new_session()
        .map(drop)
        .map_err(|err| err.message().unwrap_or("unknown error").to_string())
}

/// Plain words for a failure to open a Secret Service session. `bus` says whether a
/// bare connection to the session bus works (and if not, libdbus's reason).
pub(crate) fn classify_connect_error(err: &SsError, bus: Result<(), String>) -> SecretError {
    if let Err(reason) = bus {
        let cause = match std::env::var_os("DBUS_SESSION_BUS_ADDRESS") {
            None => "no D-Bus session bus ($DBUS_SESSION_BUS_ADDRESS is not set)".to_string(),
            Some(address) => {
                format!("cannot connect to the D-Bus session bus at `{}` ({reason})", address.to_string_lossy())
            }
        };
        return SecretError::KeyringUnreachable { cause };
    }
    classify(err)
}

/// Plain words for an error from a call to the Secret Service.
pub(crate) fn classify(err: &SsError) -> SecretError {
    let unreachable = |cause: String| SecretError::KeyringUnreachable { cause };
    match err {
        SsError::Locked | SsError::Prompt => SecretError::KeyringLocked,
        SsError::Unavailable => unreachable("no Secret Service is running on the session bus".to_string()),
        SsError::Dbus(e) => {
            let detail = e.message().unwrap_or("no details");
            match e.name().unwrap_or("") {
                "org.freedesktop.Secret.Error.IsLocked" => SecretError::KeyringLocked,
                "org.freedesktop.DBus.Error.ServiceUnknown" | "org.freedesktop.DBus.Error.NameHasNoOwner" => {
                    unreachable(
                        "no Secret Service is running on the session bus \
                     (nothing provides org.freedesktop.secrets)"
                            .to_string(),
                    )
                }
                name if name.starts_with("org.freedesktop.DBus.Error.Spawn.") => {
                    unreachable(format!("the session bus could not start a Secret Service ({detail})"))
                }
                "org.freedesktop.DBus.Error.NoReply"
                | "org.freedesktop.DBus.Error.Timeout"
                | "org.freedesktop.DBus.Error.TimedOut" => {
                    unreachable("the Secret Service did not answer in time".to_string())
                }
                "org.freedesktop.DBus.Error.Disconnected"
                | "org.freedesktop.DBus.Error.NoServer"
                | "org.freedesktop.DBus.Error.NoNetwork" => {
                    unreachable(format!("the D-Bus session bus went away ({detail})"))
                }
                name => SecretError::Keyring {
                    message: format!("the Secret Service answered with an error ({name}: {detail})"),
                },
            }
        }
        SsError::NoResult => {
            unreachable("the Secret Service has no default keyring (collection) to keep secrets in".to_string())
        }
        other => SecretError::Keyring { message: format!("unexpected answer from the Secret Service ({other})") },
    }
}

fn lookup_attributes<'k>(store_id: &'k str, id: &'k str) -> HashMap<&'k str, &'k str> {
    HashMap::from([("service", SERVICE), (STORE_ATTR, store_id), (ID_ATTR, id)])
}

/// The items holding this credential's secret, unlocked (or KeyringLocked).
fn find<'s>(ss: &'s SecretService, attributes: HashMap<&str, &str>) -> Result<Vec<Item<'s>>, SecretError> {
    let found = ss.search_items(attributes).map_err(|e| classify(&e))?;
    if !found.locked.is_empty() {
        let locked: Vec<&Item<'_>> = found.locked.iter().collect();
        // Shows the unlock prompt only when there is a display (see `connect`).
        ss.unlock_all(&locked).map_err(|e| classify(&e))?;
    }
    Ok(found.unlocked.into_iter().chain(found.locked).collect())
}

impl SecretStore for SecretServiceStore {
    fn kind(&self) -> SecretStoreKind {
        SecretStoreKind::Keyring
    }

    fn location(&self) -> String {
        "the Secret Service keyring".to_string()
    }

    fn check(&self) -> Result<(), SecretError> {
        self.with_service(|ss| {
            let collection = ss.get_default_collection().map_err(|e| classify(&e))?;
            // As libsecret clients do: ask to unlock, which shows the prompt where there is
            // a display (see `connect`) and fails at once where there is none.
            collection.ensure_unlocked().map_err(|e| classify(&e))
        })
    }

    fn set(&self, key: &SecretKey<'_>, secret: &Secret) -> Result<(), SecretError> {
        let id = key.id.to_string();
        let mut attributes = lookup_attributes(key.store_id, &id);
        let label = key.label();
        self.with_service(|ss| {
            let existing = find(ss, attributes.clone())?;
            attributes.extend([("environment", key.environment), ("address", key.address), ("username", key.username)]);
            if let Some((item, duplicates)) = existing.split_first() {
                let result = item
                    .set_secret(secret.expose().as_bytes(), "text/plain")
                    .and_then(|()| item.set_attributes(attributes))
                    .and_then(|()| item.set_label(&label));
                result.map_err(|e| classify(&e))?;
                for duplicate in duplicates {
                    duplicate.delete().map_err(|e| classify(&e))?;
                }
                return Ok(());
            }
            let collection = ss.get_default_collection().map_err(|e| classify(&e))?;
            collection.ensure_unlocked().map_err(|e| classify(&e))?;
            collection
                .create_item(&label, attributes, secret.expose().as_bytes(), true, "text/plain")
                .map_err(|e| classify(&e))?;
            Ok(())
        })
    }

    fn get(&self, key: &SecretKey<'_>) -> Result<Option<Secret>, SecretError> {
        let id = key.id.to_string();
        self.with_service(|ss| {
            let items = find(ss, lookup_attributes(key.store_id, &id))?;
            let Some(item) = items.first() else {
                return Ok(None);
            };
            let bytes = item.get_secret().map_err(|e| classify(&e))?;
            match String::from_utf8(bytes) {
                Ok(text) => Ok(Some(Secret::new(text))),
                Err(err) => {
                    err.into_bytes().zeroize();
                    Err(SecretError::Keyring {
                        message: format!("the secret of credential {} is not valid UTF-8 text", key.id),
                    })
                }
            }
        })
    }

    fn delete(&self, key: &SecretKey<'_>) -> Result<bool, SecretError> {
        let id = key.id.to_string();
        self.with_service(|ss| {
            let items = find(ss, lookup_attributes(key.store_id, &id))?;
            for item in &items {
                item.delete().map_err(|e| classify(&e))?;
            }
            Ok(!items.is_empty())
        })
    }

    fn ids(&self, store_id: &str) -> Result<Vec<u64>, SecretError> {
        self.with_service(|ss| {
            let attributes = HashMap::from([("service", SERVICE), (STORE_ATTR, store_id)]);
            let mut ids = Vec::new();
            for item in find(ss, attributes)? {
                let attributes = item.get_attributes().map_err(|e| classify(&e))?;
                // An item without a readable id is not one of ours to report.
                if let Some(id) = attributes.get(ID_ATTR).and_then(|v| v.parse().ok()) {
                    ids.push(id);
                }
            }
            ids.sort_unstable();
            ids.dedup();
            Ok(ids)
        })
    }
}
