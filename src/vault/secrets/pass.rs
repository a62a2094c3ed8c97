//! The `pass` secret store: the standard Unix password store, driven through the real `pass`
//! program, so its GPG setup (`.gpg-id`, several recipients for a team, git) applies as the
//! user made it, and `PASSWORD_STORE_DIR` and `PASSWORD_STORE_GPG_OPTS` are honoured by `pass`
//! itself. The secret goes to `pass insert --multiline` and comes from `pass show` over
//! pipes, never in argv; the entry holds exactly the secret, as docker-credential-pass does.
//!
//! One entry per credential, named so a person recognises it in `pass ls`:
//! `regcred/<store>/<environment>/<address>/<username>#<id>`, where `<store>` is the first 12
//! characters of the config dir's store id (two config dirs may share one password store) and
//! a scoped address (`quay.io/myorg`) nests as `pass` nests any name with a `/`. Finding a
//! credential's entry by its id alone (after a rename, or for doctor) reads the directory
//! names under `regcred/<store>/`, the layout `pass` itself defines; nothing is decrypted.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use zeroize::Zeroizing;

use super::{Secret, SecretError, SecretKey, SecretStore, SecretStoreKind};

const PROGRAM: &str = "pass";
const ROOT: &str = "regcred";
/// Characters of the store id in entry names: enough to keep config dirs apart.
const STORE_PREFIX: usize = 12;

pub(crate) struct PassStore;

impl PassStore {
    pub(crate) fn new() -> Self {
        PassStore
    }
}

/// `$PASSWORD_STORE_DIR`, else `~/.password-store`, as `pass` decides it.
fn store_dir() -> PathBuf {
    match std::env::var_os("PASSWORD_STORE_DIR").filter(|v| !v.is_empty()) {
        Some(dir) => PathBuf::from(dir),
        None => dirs::home_dir().unwrap_or_default().join(".password-store"),
    }
}

fn store_part(store_id: &str) -> &str {
    store_id.get(..STORE_PREFIX).unwrap_or(store_id)
}

/// The entry name of a credential's secret.
fn entry_name(key: &SecretKey<'_>) -> String {
    // A `/` in a username would make a directory of it; nothing else needs care, since the
    // `#<id>` suffix keeps every last component from being `.` or `..`.
    let username: String = key.username.chars().map(|c| if c == '/' || c == '\0' { '_' } else { c }).collect();
    format!("{ROOT}/{}/{}/{}/{username}#{}", store_part(key.store_id), key.environment, key.address, key.id)
}

/// Every entry of this store (name without `.gpg`, credential id), from the directory tree.
fn entries(store_id: &str) -> Result<Vec<(String, u64)>, SecretError> {
    fn walk(dir: &Path, name: &str, out: &mut Vec<(String, u64)>, depth: usize) {
        let Ok(read) = std::fs::read_dir(dir) else { return };
        for entry in read.flatten() {
            let file_name = entry.file_name().to_string_lossy().into_owned();
            let child = format!("{name}/{file_name}");
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() && depth < 16 {
                walk(&entry.path(), &child, out, depth + 1);
            } else if let Some(stem) = child.strip_suffix(".gpg")
                && let Some(id) = stem.rsplit_once('#').and_then(|(_, id)| id.parse().ok())
            {
                out.push((stem.to_owned(), id));
            }
        }
    }
    let base = format!("{ROOT}/{}", store_part(store_id));
    let mut out = Vec::new();
    walk(&store_dir().join(&base), &base, &mut out, 0);
    out.sort();
    Ok(out)
}

/// Runs `pass ARGS`, with `input` on stdin; returns its stdout (wiped when dropped).
fn pass(args: &[&str], input: Option<&[u8]>) -> Result<Zeroizing<Vec<u8>>, PassFailure> {
    let mut child = Command::new(PROGRAM)
        .args(args)
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => PassFailure::NotInstalled,
            _ => PassFailure::Failed(format!("cannot run `pass`: {e}")),
        })?;
    if let (Some(mut stdin), Some(input)) = (child.stdin.take(), input) {
        // A failed write shows as pass's own failure below.
        let _ = stdin.write_all(input);
    }
    let mut stdout = Zeroizing::new(Vec::with_capacity(4096));
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_end(&mut stdout);
    }
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut stderr);
    }
    let status = child.wait().map_err(|e| PassFailure::Failed(format!("cannot wait for `pass`: {e}")))?;
    if status.success() {
        return Ok(stdout);
    }
    Err(PassFailure::Refused(stderr))
}

enum PassFailure {
    NotInstalled,
    Failed(String),
    /// `pass` exited with an error; its stderr (which never holds the secret).
    Refused(String),
}

/// The `.gpg-id` that applies to regcred's entries: the nearest one above `regcred/`.
fn gpg_id_file() -> Option<PathBuf> {
    let dir = store_dir();
    [dir.join(ROOT).join(".gpg-id"), dir.join(".gpg-id")].into_iter().find(|p| p.is_file())
}

fn not_installed() -> SecretError {
    SecretError::Pass {
        problem: "the `pass` program is not installed (or not on PATH)".to_owned(),
        fix: "install it (Debian and Ubuntu: `sudo apt-get install pass`), or choose another store: \
              `--secret-store keyutils`, `--secret-store file`, `--secret-store keyring`"
            .to_owned(),
    }
}

fn not_initialised() -> SecretError {
    let dir = store_dir();
    SecretError::Pass {
        problem: format!("the password store {} is not initialised (it has no .gpg-id)", dir.display()),
        fix: "run `pass init GPG-KEY-ID` with your key (see `gpg --list-secret-keys`; make one with \
              `gpg --quick-generate-key \"Your Name <you@example.com>\"`), or set PASSWORD_STORE_DIR to your store"
            .to_owned(),
    }
}

/// Plain words for what `pass` (and gpg under it) said.
fn classify(failure: PassFailure, action: &str) -> SecretError {
    let stderr = match failure {
        PassFailure::NotInstalled => return not_installed(),
        PassFailure::Failed(message) => return SecretError::Other(message),
        PassFailure::Refused(stderr) => stderr,
    };
    if gpg_id_file().is_none() || stderr.contains("You must run:") || stderr.contains("Try \"pass init\"") {
        return not_initialised();
    }
    let recipients = gpg_id_file()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .map(|text| text.split_whitespace().collect::<Vec<_>>().join(", "))
        .unwrap_or_default();
    if stderr.contains("No public key") || stderr.contains("unusable public key") {
        return SecretError::Pass {
            problem: format!(
                "pass cannot encrypt to the GPG key(s) of the store ({recipients}): this GnuPG keyring has no usable \
                 public key for them"
            ),
            fix: "import the key (`gpg --import KEY.asc`), or re-initialise the store for a key you have: \
                  `pass init GPG-KEY-ID` (see `gpg --list-keys`)"
                .to_owned(),
        };
    }
    if stderr.contains("No secret key") || stderr.contains("decryption failed") {
        return SecretError::Pass {
            problem: "pass cannot decrypt the secret: this GnuPG keyring has no secret key it was encrypted to"
                .to_owned(),
            fix: format!(
                "import your secret key (`gpg --import`), point GNUPGHOME at the keyring that has it, or have a \
                 holder of one of the store's keys ({recipients}) add yours with `pass init KEY1 KEY2`"
            ),
        };
    }
    let said = stderr.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join("; ");
    SecretError::Other(format!("pass could not {action} the secret ({said})"))
}

impl SecretStore for PassStore {
    fn kind(&self) -> SecretStoreKind {
        SecretStoreKind::Pass
    }

    fn location(&self) -> String {
        format!("the password store {} (pass)", store_dir().display())
    }

    fn check(&self) -> Result<(), SecretError> {
        pass(&["version"], None).map_err(|f| classify(f, "reach"))?;
        if gpg_id_file().is_none() {
            return Err(not_initialised());
        }
        Ok(())
    }

    fn set(&self, key: &SecretKey<'_>, secret: &Secret) -> Result<(), SecretError> {
        // Said before pass itself would (its words name no fix).
        if gpg_id_file().is_none() {
            pass(&["version"], None).map_err(|f| classify(f, "store"))?;
            return Err(not_initialised());
        }
        let name = entry_name(key);
        let before = entries(key.store_id)?;
        pass(&["insert", "--multiline", "--force", &name], Some(secret.expose().as_bytes()))
            .map_err(|f| classify(f, "store"))?;
        // The same credential under its old name (a changed username): removed after the
        // new one is in, so a crash leaves two entries, never none.
        for (old, _) in before.iter().filter(|(old, id)| *id == key.id && *old != name) {
            pass(&["rm", "--force", old], None).map_err(|f| classify(f, "replace"))?;
        }
        Ok(())
    }

    fn get(&self, key: &SecretKey<'_>) -> Result<Option<Secret>, SecretError> {
        let mut name = entry_name(key);
        if !store_dir().join(format!("{name}.gpg")).is_file() {
            match entries(key.store_id)?.into_iter().find(|(_, id)| *id == key.id) {
                Some((found, _)) => name = found,
                None => return Ok(None),
            }
        }
        let mut bytes = pass(&["show", &name], None).map_err(|f| classify(f, "read"))?;
        match String::from_utf8(std::mem::take(&mut *bytes)) {
            Ok(text) => Ok(Some(Secret::new(text))),
            Err(err) => {
                drop(Zeroizing::new(err.into_bytes()));
                Err(SecretError::Other(format!("the secret of credential {} is not valid UTF-8 text", key.id)))
            }
        }
    }

    fn delete(&self, key: &SecretKey<'_>) -> Result<bool, SecretError> {
        let found: Vec<String> =
            entries(key.store_id)?.into_iter().filter(|(_, id)| *id == key.id).map(|(name, _)| name).collect();
        for name in &found {
            pass(&["rm", "--force", name], None).map_err(|f| classify(f, "remove"))?;
        }
        Ok(!found.is_empty())
    }

    fn ids(&self, store_id: &str) -> Result<Vec<u64>, SecretError> {
        let mut ids: Vec<u64> = entries(store_id)?.into_iter().map(|(_, id)| id).collect();
        ids.sort_unstable();
        ids.dedup();
        Ok(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entry_names_are_what_a_person_recognises() {
        let key = SecretKey {
            store_id: "0123456789abcdef0123456789abcdef",
            id: 7,
            environment: "ci",
            address: "quay.io/myorg",
            username: "robot/x",
        };
        assert_eq!(entry_name(&key), "regcred/0123456789ab/ci/quay.io/myorg/robot_x#7");
    }
}
