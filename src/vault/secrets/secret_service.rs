//! The Secret Service (gnome-keyring, KeePassXC, KWallet) over the D-Bus session bus.
//!
//! One item per credential in the default collection, found by exact attributes:
//! `service=regcred`, `regcred_store=<store id>`, `regcred_id=<credential id>`. The item
//! also carries `environment`, `address` and `username` so a person can tell what it is.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use dbus::Path;
use dbus::blocking::Connection;
use dbus::message::MatchRule;
use dbus_secret_service::{Collection, EncryptionType, Error as SsError, Item, SearchItemsResult, SecretService};
use zeroize::Zeroize;

use super::{SERVICE, Secret, SecretError, SecretKey, SecretStore, SecretStoreKind};
use crate::vault::Patience;

const STORE_ATTR: &str = "regcred_store";
const ID_ATTR: &str = "regcred_id";

/// Seconds the client library waits on a prompt of its own (regcred unlocks first, see
/// [`unlock`], so this bounds only prompts it did not expect). Without a display nobody
/// can answer, so it never prompts.
const PROMPT_TIMEOUT_SECS: u64 = 120;

/// The session is encrypted, as libsecret's is (`dh-ietf1024-sha256-aes128-cbc-pkcs7`):
/// no secret crosses the bus in clear, where any process of the user may watch it
/// (`dbus-monitor`). The key exchange costs two 1024-bit exponentiations of our time (~9 M
/// instructions each with the patched crate in vendor/, about 2 ms together) and 2.5 ms of
/// the Secret Service's per process (docs/PERFORMANCE.md).
const ENCRYPTION: EncryptionType = EncryptionType::Dh;

pub(crate) struct SecretServiceStore {
    /// Connected on first use; a failed attempt is retried by the next call.
    service: Arc<Mutex<Option<SecretService>>>,
    /// Bounds the waits (for an answer, for an unlock prompt) and says what is awaited.
    patience: Patience,
    /// Always, but in the test that shows what it keeps off the bus.
    encrypted: bool,
}

impl SecretServiceStore {
    pub(crate) fn new(patience: Patience) -> Self {
        SecretServiceStore { service: Arc::new(Mutex::new(None)), patience, encrypted: true }
    }

    /// A plain session, for the test that shows what encryption keeps off the bus.
    #[cfg(test)]
    pub(crate) fn plain(patience: Patience) -> Self {
        SecretServiceStore { service: Arc::new(Mutex::new(None)), patience, encrypted: false }
    }

    /// Runs `f` with a connected Secret Service, on a thread of its own: libdbus blocks
    /// until the service answers (a socket that accepts and never answers blocked a `get`
    /// for two minutes), so the caller waits on a channel instead, says after a second
    /// what it waits for, and gives up after the patience's timeout. A thread still blocked
    /// then ends with the process.
    fn with_service<T: Send + 'static>(
        &self,
        f: impl FnOnce(&SecretService) -> Result<T, SecretError> + Send + 'static,
    ) -> Result<T, SecretError> {
        self.with_connection(move |slot, encryption| {
            let service = match slot.take() {
                Some(service) => slot.insert(service),
                None => slot.insert(connect(encryption)?),
            };
            f(service)
        })
    }

    /// Runs `f` with a connected Secret Service and the items found by `attributes`,
    /// unlocked (see [`unlock`]). When this is the first call, the search is sent along
    /// with the opening of the session and both are waited for at once: one round trip to
    /// the Secret Service fewer for every command, the helper's `get` among them.
    fn with_found<T: Send + 'static>(
        &self,
        attributes: Vec<(&'static str, String)>,
        f: impl FnOnce(&SecretService, Vec<Item<'_>>) -> Result<T, SecretError> + Send + 'static,
    ) -> Result<T, SecretError> {
        let patience = self.patience.clone();
        self.with_connection(move |slot, encryption| {
            let attributes: HashMap<&str, &str> = attributes.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (service, found) = match slot.take() {
                Some(service) => {
                    let found = service.search_items(attributes).map(|found| SearchItemsResult {
                        unlocked: found.unlocked.into_iter().map(|item| item.path).collect(),
                        locked: found.locked.into_iter().map(|item| item.path).collect(),
                    });
                    (slot.insert(service), found)
                }
                None => {
                    let (service, found) = connect_and_search(encryption, attributes)?;
                    (slot.insert(service), found)
                }
            };
            let found = found.map_err(|e| classify(&e))?;
            if !found.locked.is_empty() {
                unlock(found.locked.clone(), &patience)?;
            }
            let items = found.unlocked.into_iter().chain(found.locked).map(|path| Item::new(service, path)).collect();
            f(service, items)
        })
    }

    /// Runs `f` on a thread of its own with the slot of the connection (empty until the
    /// first call connects) and the encryption to connect with.
    fn with_connection<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Option<SecretService>, EncryptionType) -> Result<T, SecretError> + Send + 'static,
    ) -> Result<T, SecretError> {
        let service = Arc::clone(&self.service);
        let encryption = if self.encrypted { ENCRYPTION } else { EncryptionType::Plain };
        let (sender, receiver) = mpsc::channel();
        let spawned = std::thread::Builder::new().name("secret-service".into()).spawn(move || {
            let mut guard = service.lock().unwrap_or_else(PoisonError::into_inner);
            let _ = sender.send(f(&mut guard, encryption));
        });
        if let Err(e) = spawned {
            return Err(SecretError::Keyring {
                message: format!("cannot start a thread to ask the Secret Service: {e}"),
            });
        }
        let started = Instant::now();
        let patience = &self.patience;
        // A wait inside `f` (an unlock prompt's answer) is bounded by the same patience and
        // gives up first, in its own words; this bound is for a service that never answers.
        let timeout = patience.timeout + Duration::from_secs(1);
        let mut told = false;
        loop {
            let waited = started.elapsed();
            let next = if told { timeout } else { patience.announce_after.min(timeout) };
            match receiver.recv_timeout(next.saturating_sub(waited)) {
                Ok(result) => return result,
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    return Err(SecretError::Keyring {
                        message: "the Secret Service client stopped unexpectedly".into(),
                    });
                }
                Err(mpsc::RecvTimeoutError::Timeout) if started.elapsed() >= timeout => {
                    return Err(SecretError::KeyringTimeout { secs: patience.timeout.as_secs_f64().round() as u64 });
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    if !told {
                        patience.announce("waiting for the Secret Service to answer");
                        told = true;
                    }
                }
            }
        }
    }
}

/// A secret's key with owned text, to cross to the thread that talks to the service.
struct OwnedKey {
    store_id: String,
    id: String,
    environment: String,
    address: String,
    username: String,
    label: String,
}

impl OwnedKey {
    fn new(key: &SecretKey<'_>) -> OwnedKey {
        OwnedKey {
            store_id: key.store_id.to_owned(),
            id: key.id.to_string(),
            environment: key.environment.to_owned(),
            address: key.address.to_owned(),
            username: key.username.to_owned(),
            label: key.label(),
        }
    }
}

fn connect(encryption: EncryptionType) -> Result<SecretService, SecretError> {
    SecretService::connect_with_max_prompt_timeout(encryption, prompt_timeout())
        .map_err(|err| classify_connect_error(&err, bus_reachable()))
}

/// [`connect`] and a search sent right behind the opening of the session; the search's
/// own error is the inner one, as from a separate call.
fn connect_and_search(
    encryption: EncryptionType,
    attributes: HashMap<&str, &str>,
) -> Result<(SecretService, Result<SearchItemsResult<Path<'static>>, SsError>), SecretError> {
    SecretService::connect_and_search(encryption, Some(prompt_timeout()), attributes)
        .map_err(|err| classify_connect_error(&err, bus_reachable()))
}

fn prompt_timeout() -> u64 {
    if graphical_session() { PROMPT_TIMEOUT_SECS } else { 0 }
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

/// The attributes that find one credential's items.
fn lookup_attributes(store_id: &str, id: &str) -> Vec<(&'static str, String)> {
    vec![("service", SERVICE.to_owned()), (STORE_ATTR, store_id.to_owned()), (ID_ATTR, id.to_owned())]
}

/// The collection new items go to (the `default` alias), unlocked (see [`unlock`]).
fn unlocked_default_collection<'s>(ss: &'s SecretService, patience: &Patience) -> Result<Collection<'s>, SecretError> {
    let collection = ss.get_default_collection().map_err(|e| classify(&e))?;
    if collection.is_locked().map_err(|e| classify(&e))? {
        unlock(vec![collection.path.clone()], patience)?;
    }
    Ok(collection)
}

const BUS_NAME: &str = "org.freedesktop.secrets";
const SERVICE_PATH: &str = "/org/freedesktop/secrets";
const SERVICE_INTERFACE: &str = "org.freedesktop.Secret.Service";
const PROMPT_INTERFACE: &str = "org.freedesktop.Secret.Prompt";

/// Unlocks `objects` (items or collections) as libsecret's clients do: asks the Secret
/// Service to, and when it needs the user (the keyring password) follows its prompt: the
/// keyring shows its own dialog on the desktop, and we wait for the answer, at most the
/// patience's timeout, saying on stderr what we wait for. Without a display nobody could
/// answer, so the prompt is dismissed at once and the error says how to unlock instead.
///
/// This is done here rather than by the client library because its prompt loop neither
/// says what it waits for nor dismisses the dialog when it gives up. It runs on a
/// connection of its own: only the caller of `Unlock` may follow its prompt, and an
/// unlock is rare enough that a second connection costs nothing that matters.
fn unlock(objects: Vec<Path<'static>>, patience: &Patience) -> Result<(), SecretError> {
    let bus_error = |e: dbus::Error| classify(&SsError::Dbus(e));
    let conn = Connection::new_session().map_err(bus_error)?;
    let service = conn.with_proxy(BUS_NAME, SERVICE_PATH, patience.timeout);
    let (_, prompt): (Vec<Path<'static>>, Path<'static>) =
        service.method_call(SERVICE_INTERFACE, "Unlock", (objects,)).map_err(bus_error)?;
    if &*prompt == "/" {
        return Ok(());
    }
    let prompt_object = conn.with_proxy(BUS_NAME, prompt.clone(), patience.timeout);
    if !graphical_session() {
        // Not shown yet, so dismissing only tells the keyring to forget the request.
        let _ = prompt_object.method_call::<(), _, _, _>(PROMPT_INTERFACE, "Dismiss", ());
        return Err(SecretError::KeyringLocked);
    }

    let (answered, answer) = std::sync::mpsc::channel::<bool>();
    let completed = MatchRule::new_signal(PROMPT_INTERFACE, "Completed").with_path(prompt.clone());
    let token = conn
        .add_match(completed, move |(): (), _: &Connection, message: &dbus::Message| {
            // Completed(dismissed, result): only `dismissed` matters for an unlock.
            let _ = answered.send(message.read1::<bool>().unwrap_or(true));
            false
        })
        .map_err(bus_error)?;
    // "" is the window to attach the dialog to: none, as for any terminal program.
    prompt_object.method_call::<(), _, _, _>(PROMPT_INTERFACE, "Prompt", ("",)).map_err(bus_error)?;

    let start = Instant::now();
    let mut told = false;
    let dismissed = loop {
        if let Ok(dismissed) = answer.try_recv() {
            break dismissed;
        }
        let waited = start.elapsed();
        if waited >= patience.timeout {
            // The dialog is left open, not dismissed: gnome-keyring 42 aborts when a prompt
            // it is showing is dismissed, and an answer given later still unlocks the
            // keyring for the next command.
            let _ = conn.remove_match(token);
            return Err(SecretError::KeyringUnlockTimeout { secs: patience.timeout.as_secs().max(1) });
        }
        if !told && waited >= patience.announce_after {
            patience.announce(&format!(
                "waiting for the keyring to be unlocked: enter its password in the prompt on the desktop \
                 (giving up after {} s)",
                patience.timeout.as_secs().max(1)
            ));
            told = true;
        }
        let step = (patience.timeout - waited).min(Duration::from_millis(200));
        conn.process(step).map_err(bus_error)?;
    };
    let _ = conn.remove_match(token);
    if dismissed { Err(SecretError::KeyringUnlockDismissed) } else { Ok(()) }
}

impl SecretStore for SecretServiceStore {
    fn kind(&self) -> SecretStoreKind {
        SecretStoreKind::Keyring
    }

    fn location(&self) -> String {
        "the Secret Service keyring".to_string()
    }

    fn check(&self) -> Result<(), SecretError> {
        let patience = self.patience.clone();
        self.with_service(move |ss| unlocked_default_collection(ss, &patience).map(drop))
    }

    fn set(&self, key: &SecretKey<'_>, secret: &Secret) -> Result<(), SecretError> {
        let key = OwnedKey::new(key);
        let secret = secret.clone();
        let patience = self.patience.clone();
        self.with_found(lookup_attributes(&key.store_id, &key.id), move |ss, existing| {
            let mut attributes = HashMap::from([("service", SERVICE), (STORE_ATTR, key.store_id.as_str())]);
            attributes.extend([
                (ID_ATTR, key.id.as_str()),
                ("environment", key.environment.as_str()),
                ("address", key.address.as_str()),
                ("username", key.username.as_str()),
            ]);
            if let Some((item, duplicates)) = existing.split_first() {
                let result = item
                    .set_secret(secret.expose().as_bytes(), "text/plain")
                    .and_then(|()| item.set_attributes(attributes))
                    .and_then(|()| item.set_label(&key.label));
                result.map_err(|e| classify(&e))?;
                for duplicate in duplicates {
                    duplicate.delete().map_err(|e| classify(&e))?;
                }
                return Ok(());
            }
            let collection = unlocked_default_collection(ss, &patience)?;
            collection
                .create_item(&key.label, attributes, secret.expose().as_bytes(), true, "text/plain")
                .map_err(|e| classify(&e))?;
            Ok(())
        })
    }

    fn get(&self, key: &SecretKey<'_>) -> Result<Option<Secret>, SecretError> {
        let key = OwnedKey::new(key);
        self.with_found(lookup_attributes(&key.store_id, &key.id), move |_, items| {
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
        let key = OwnedKey::new(key);
        self.with_found(lookup_attributes(&key.store_id, &key.id), move |_, items| {
            for item in &items {
                item.delete().map_err(|e| classify(&e))?;
            }
            Ok(!items.is_empty())
        })
    }

    fn ids(&self, store_id: &str) -> Result<Vec<u64>, SecretError> {
        let attributes = vec![("service", SERVICE.to_owned()), (STORE_ATTR, store_id.to_owned())];
        self.with_found(attributes, move |_, items| {
            let mut ids = Vec::new();
            for item in items {
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
