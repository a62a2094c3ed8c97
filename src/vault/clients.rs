//! The config files of the container clients regcred points at itself (`setup`) or reads
//! (`import`): where docker and the containers tools keep them (containers-auth.json(5)),
//! reading them without following a planted link or blocking on a FIFO, rewriting them with
//! a numbered backup that never overwrites anything, which other credential helpers a
//! change replaces, and what `setup --undo` puts back.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde_json::Value;

use super::fs::{FsError, PrivateFile, check_regular, open_no_follow};
use super::store::create_private_dir;

/// The name docker and containers/image turn into `docker-credential-regcred`.
pub const HELPER: &str = "regcred";

/// Why a client's config file could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ClientFileError {
    #[error(transparent)]
    File(#[from] FsError),
    #[error("cannot parse {}: line {line}, column {column}: {message}", path.display())]
    Syntax { path: PathBuf, line: usize, column: usize, message: String },
    #[error("{} is not a JSON object", path.display())]
    NotAnObject { path: PathBuf },
}

impl ClientFileError {
    pub fn hint(&self) -> Option<String> {
        match self {
            ClientFileError::File(e) => e.hint(),
            ClientFileError::Syntax { .. } => {
                Some("fix the file first; regcred does not rewrite a file it cannot read".into())
            }
            ClientFileError::NotAnObject { .. } => None,
        }
    }
}

/// `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub fn docker_config_path() -> Option<PathBuf> {
    match std::env::var_os("DOCKER_CONFIG").filter(|v| !v.is_empty()) {
        Some(dir) => Some(PathBuf::from(dir).join("config.json")),
        None => dirs::home_dir().map(|home| home.join(".docker").join("config.json")),
    }
}

/// Where podman, skopeo and buildah write credentials, and why there, in the order of
/// containers-auth.json(5): `$REGISTRY_AUTH_FILE`; `$XDG_RUNTIME_DIR/containers/auth.json`;
/// `/run/containers/$UID/auth.json` (root, or when that directory exists); then the
/// fallback every containers tool also reads, `$XDG_CONFIG_HOME/containers/auth.json`
/// (`~/.config/containers/auth.json`).
/// `import auth-json` reads the same file.
pub fn podman_auth_file() -> Option<(PathBuf, &'static str)> {
    #[cfg(unix)]
    let uid = Some(super::fs::effective_uid());
    #[cfg(not(unix))]
    let uid = None;
    podman_auth_file_in(&|name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from), uid, &|p| {
        p.is_dir()
    })
}

fn podman_auth_file_in(
    var: &dyn Fn(&str) -> Option<PathBuf>,
    uid: Option<u32>,
    is_dir: &dyn Fn(&Path) -> bool,
) -> Option<(PathBuf, &'static str)> {
    if let Some(file) = var("REGISTRY_AUTH_FILE") {
        return Some((file, "$REGISTRY_AUTH_FILE names it"));
    }
    if let Some(dir) = var("XDG_RUNTIME_DIR") {
        return Some((dir.join("containers").join("auth.json"), "$XDG_RUNTIME_DIR is set"));
    }
    if cfg!(target_os = "linux")
        && let Some(uid) = uid
    {
        let dir = PathBuf::from(format!("/run/containers/{uid}"));
        if uid == 0 || is_dir(&dir) {
            let why = if uid == 0 { "root, without $XDG_RUNTIME_DIR" } else { "/run/containers/$UID exists" };
            return Some((dir.join("auth.json"), why));
        }
    }
    let config_home = var("XDG_CONFIG_HOME").or_else(|| var("HOME").map(|home| home.join(".config")));
    config_home.map(|dir| {
        (dir.join("containers").join("auth.json"), "no $XDG_RUNTIME_DIR or /run/containers/$UID: the fallback all read")
    })
}

/// A client's JSON config as an object; a missing or blank file is an empty one.
pub fn read_json(path: &Path) -> Result<serde_json::Value, ClientFileError> {
    let mut file = match open_no_follow(path, false) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(serde_json::json!({})),
        Err(e) => {
            return Err(match std::fs::symlink_metadata(path) {
                Ok(metadata) if !metadata.is_file() => {
                    check_regular(path, &metadata).err().unwrap_or_else(|| FsError::io("cannot read", path, e))
                }
                _ => FsError::io("cannot read", path, e),
            }
            .into());
        }
    };
    let metadata = file.metadata().map_err(|e| FsError::io("cannot read", path, e))?;
    check_regular(path, &metadata)?;
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(|e| FsError::io("cannot read", path, e))?;
    if text.trim().is_empty() {
        return Ok(serde_json::json!({}));
    }
    let value: serde_json::Value = serde_json::from_str(&text).map_err(|e| ClientFileError::Syntax {
        path: path.to_owned(),
        line: e.line(),
        column: e.column(),
        message: e.to_string(),
    })?;
    if !value.is_object() {
        return Err(ClientFileError::NotAnObject { path: path.to_owned() });
    }
    Ok(value)
}

/// Writes a client's config (0600), creating its directory 0700 when missing. An existing
/// file is first copied to the next free [`backup_path`], made with
/// `O_CREAT|O_EXCL|O_NOFOLLOW`: no backup is ever overwritten. Returns the backup's path.
pub fn write_with_backup(path: &Path, text: &str) -> Result<Option<PathBuf>, FsError> {
    let backup = match read_existing(path)? {
        Some(old) => Some(backup(path, &old)?),
        None => None,
    };
    write(path, text)?;
    Ok(backup)
}

/// Writes a client's config (0600) without a backup, creating its directory 0700 when
/// missing: what `setup --undo` does, since the backups are what it restores from.
pub fn write(path: &Path, text: &str) -> Result<(), FsError> {
    prepare_dir(path)?;
    PrivateFile::new(path).replace(text.as_bytes())
}

fn prepare_dir(path: &Path) -> Result<(), FsError> {
    let dir = PrivateFile::new(path).dir();
    if !dir.is_dir() {
        create_private_dir(&dir)?;
    }
    Ok(())
}

/// The bytes of an existing regular file (a link or FIFO in its place is refused).
fn read_existing(path: &Path) -> Result<Option<Vec<u8>>, FsError> {
    let mut file = match open_no_follow(path, false) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(match std::fs::symlink_metadata(path) {
                Ok(metadata) => {
                    check_regular(path, &metadata).err().unwrap_or_else(|| FsError::io("cannot read", path, e))
                }
                Err(_) => FsError::io("cannot read", path, e),
            });
        }
    };
    check_regular(path, &file.metadata().map_err(|e| FsError::io("cannot read", path, e))?)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).map_err(|e| FsError::io("cannot read", path, e))?;
    Ok(Some(bytes))
}

/// The `n`th backup of `config` (from 1): `config.json.regcred-backup`, then
/// `config.json.regcred-backup.2`, `.3`… The first is the file as it was before regcred
/// first changed it.
pub fn backup_path(config: &Path, n: u32) -> PathBuf {
    let mut name = config.as_os_str().to_owned();
    name.push(".regcred-backup");
    if n > 1 {
        name.push(format!(".{n}"));
    }
    PathBuf::from(name)
}

/// The backups of `config` that exist, oldest first.
pub fn backups(config: &Path) -> Vec<PathBuf> {
    (1..).map(|n| backup_path(config, n)).take_while(|p| std::fs::symlink_metadata(p).is_ok()).collect()
}

/// The next backup of `path` after those that exist, made exclusively, so nothing planted
/// there is written through; one made meanwhile by another process moves it on.
fn backup(path: &Path, bytes: &[u8]) -> Result<PathBuf, FsError> {
    let first = backups(path).len() as u32 + 1;
    for n in first..first + 1000 {
        let candidate = backup_path(path, n);
        match PrivateFile::new(&candidate).create_new(bytes) {
            Ok(()) => return Ok(candidate),
            Err(FsError::Exists { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(FsError::Exists { path: backup_path(path, first) })
}

/// One helper entry a change replaces: `credsStore` or `credHelpers["host"]`, and the helper
/// that was there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replaced {
    pub key: String,
    pub helper: String,
}

/// The `credsStore`/`credHelpers` entries that named another helper in `before` and name
/// regcred in `after`: credentials kept by that helper are no longer used.
pub fn replaced_helpers(before: &Value, after: &Value) -> Vec<Replaced> {
    let mut out = Vec::new();
    for (key, old, new) in helper_entries(before, after) {
        if let (Some(Value::String(old)), Some(Value::String(new))) = (old, new)
            && old != HELPER
            && !old.is_empty()
            && new == HELPER
        {
            out.push(Replaced { key, helper: old.clone() });
        }
    }
    out
}

/// Every `credsStore`/`credHelpers` key of either file, with its value in each.
fn helper_entries<'a>(a: &'a Value, b: &'a Value) -> Vec<(String, Option<&'a Value>, Option<&'a Value>)> {
    let mut out = vec![("credsStore".to_owned(), a.get("credsStore"), b.get("credsStore"))];
    let mut hosts: Vec<&String> = Vec::new();
    for side in [a, b] {
        if let Some(Value::Object(map)) = side.get("credHelpers") {
            hosts.extend(map.keys().filter(|k| !hosts.contains(k)).collect::<Vec<_>>());
        }
    }
    for host in hosts {
        let at = |v: &'a Value| v.get("credHelpers").and_then(|h| h.get(host.as_str()));
        out.push((format!("credHelpers[{host:?}]"), at(a), at(b)));
    }
    out
}

/// What `setup --undo` makes of `current`: every `credsStore`/`credHelpers` entry naming
/// regcred goes back to what it was before setup changed it (the newest backup that does not
/// name regcred there), or is removed when it was not set. Everything else in the file stays
/// as it is now, so what the user changed since setup is kept. Returns the new file and the
/// changes in setup's words (`key: old → new`).
pub fn undone(current: &Value, backups_oldest_first: &[Value]) -> (Value, Vec<String>) {
    let mut result = current.clone();
    let mut changes = Vec::new();
    let names_regcred = |v: Option<&Value>| v.and_then(Value::as_str) == Some(HELPER);
    let previous = |get: &dyn Fn(&Value) -> Option<Value>| -> Option<Value> {
        for backup in backups_oldest_first.iter().rev() {
            let value = get(backup);
            if !names_regcred(value.as_ref()) {
                return value;
            }
        }
        None
    };
    if names_regcred(current.get("credsStore")) {
        let old = previous(&|b| b.get("credsStore").cloned());
        changes.push(format!("credsStore: \"{HELPER}\" → {}", shown(old.as_ref())));
        if let Some(map) = result.as_object_mut() {
            match old {
                Some(value) => map.insert("credsStore".to_owned(), value),
                None => map.remove("credsStore"),
            };
        }
    }
    let hosts: Vec<String> = current
        .get("credHelpers")
        .and_then(Value::as_object)
        .map(|map| map.iter().filter(|(_, v)| names_regcred(Some(v))).map(|(k, _)| k.clone()).collect())
        .unwrap_or_default();
    for host in &hosts {
        let old = previous(&|b| b.get("credHelpers").and_then(|h| h.get(host.as_str())).cloned());
        changes.push(format!("credHelpers[{host:?}]: \"{HELPER}\" → {}", shown(old.as_ref())));
        if let Some(map) = result.get_mut("credHelpers").and_then(Value::as_object_mut) {
            match old {
                Some(value) => map.insert(host.clone(), value),
                None => map.remove(host),
            };
        }
    }
    // An empty credHelpers that setup made goes too. The oldest backup is the file before
    // regcred first changed it; later ones may hold the credHelpers an earlier setup made.
    let made_empty = result.get("credHelpers").and_then(Value::as_object).is_some_and(|m| m.is_empty())
        && !hosts.is_empty()
        && backups_oldest_first.first().is_none_or(|b| b.get("credHelpers").is_none());
    if made_empty && let Some(map) = result.as_object_mut() {
        map.remove("credHelpers");
    }
    (result, changes)
}

fn shown(value: Option<&Value>) -> String {
    value.map_or_else(|| "(unset)".to_owned(), Value::to_string)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn vars<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<PathBuf> + 'a {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| PathBuf::from(v))
    }

    #[test]
    fn the_podman_auth_file_follows_containers_auth_json_order() {
        let none = |_: &Path| false;
        let all = [("REGISTRY_AUTH_FILE", "/a/auth.json"), ("XDG_RUNTIME_DIR", "/run/user/7"), ("HOME", "/home/me")];
        assert_eq!(podman_auth_file_in(&vars(&all), Some(7), &none).unwrap().0, PathBuf::from("/a/auth.json"));
        let runtime = [("XDG_RUNTIME_DIR", "/run/user/7"), ("HOME", "/home/me")];
        assert_eq!(
            podman_auth_file_in(&vars(&runtime), Some(7), &none).unwrap().0,
            PathBuf::from("/run/user/7/containers/auth.json")
        );
        if cfg!(target_os = "linux") {
            let home = [("HOME", "/root")];
            assert_eq!(
                podman_auth_file_in(&vars(&home), Some(0), &none).unwrap().0,
                PathBuf::from("/run/containers/0/auth.json")
            );
            let exists = |p: &Path| p == Path::new("/run/containers/7");
            assert_eq!(
                podman_auth_file_in(&vars(&[("HOME", "/home/me")]), Some(7), &exists).unwrap().0,
                PathBuf::from("/run/containers/7/auth.json")
            );
        }
        assert_eq!(
            podman_auth_file_in(&vars(&[("HOME", "/home/me")]), Some(7), &none).unwrap().0,
            PathBuf::from("/home/me/.config/containers/auth.json")
        );
        assert_eq!(
            podman_auth_file_in(&vars(&[("HOME", "/home/me"), ("XDG_CONFIG_HOME", "/cfg")]), Some(7), &none).unwrap().0,
            PathBuf::from("/cfg/containers/auth.json")
        );
    }

    #[test]
    fn backups_are_numbered_after_the_first() {
        let config = Path::new("/h/.docker/config.json");
        assert_eq!(backup_path(config, 1), PathBuf::from("/h/.docker/config.json.regcred-backup"));
        assert_eq!(backup_path(config, 3), PathBuf::from("/h/.docker/config.json.regcred-backup.3"));
    }

    #[cfg(unix)]
    #[test]
    fn backups_never_overwrite_and_never_write_through_a_planted_link() {
        use std::os::unix::fs::PermissionsExt;

        let dir = tempfile::tempdir().unwrap();
        let config = dir.path().join("config.json");
        assert_eq!(write_with_backup(&config, "{\"n\": 1}\n").unwrap(), None);
        assert_eq!(write_with_backup(&config, "{\"n\": 2}\n").unwrap(), Some(backup_path(&config, 1)));
        assert_eq!(write_with_backup(&config, "{\"n\": 3}\n").unwrap(), Some(backup_path(&config, 2)));
        assert_eq!(std::fs::read_to_string(backup_path(&config, 1)).unwrap(), "{\"n\": 1}\n");
        assert_eq!(std::fs::read_to_string(backup_path(&config, 2)).unwrap(), "{\"n\": 2}\n");
        let mode = std::fs::metadata(backup_path(&config, 2)).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        // A link planted at the next name is passed over, and its target is untouched.
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "mine").unwrap();
        std::os::unix::fs::symlink(&victim, backup_path(&config, 3)).unwrap();
        assert_eq!(write_with_backup(&config, "{\"n\": 4}\n").unwrap(), Some(backup_path(&config, 4)));
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "mine");
        assert_eq!(std::fs::read_to_string(backup_path(&config, 4)).unwrap(), "{\"n\": 3}\n");
        assert_eq!(backups(&config).len(), 4);
    }

    #[test]
    fn replacing_another_helper_is_noticed() {
        let before = json!({"credsStore": "desktop", "credHelpers": {"gcr.io": "gcloud", "quay.io": "regcred"}});
        let after = json!({"credsStore": "regcred", "credHelpers": {"gcr.io": "regcred", "quay.io": "regcred", "x.io": "regcred"}});
        assert_eq!(
            replaced_helpers(&before, &after),
            [
                Replaced { key: "credsStore".into(), helper: "desktop".into() },
                Replaced { key: "credHelpers[\"gcr.io\"]".into(), helper: "gcloud".into() },
            ]
        );
        assert!(replaced_helpers(&json!({}), &after).is_empty());
    }

    #[test]
    fn undo_puts_back_what_setup_replaced_and_keeps_later_changes() {
        let original = json!({"credsStore": "desktop", "auths": {}, "credHelpers": {"gcr.io": "gcloud"}});
        let current = json!({"credsStore": "regcred", "auths": {}, "credHelpers": {"gcr.io": "regcred", "quay.io": "regcred"}, "plugins": {"x": 1}});
        let (undone_file, changes) = undone(&current, std::slice::from_ref(&original));
        assert_eq!(
            undone_file,
            json!({"credsStore": "desktop", "auths": {}, "credHelpers": {"gcr.io": "gcloud"}, "plugins": {"x": 1}})
        );
        assert_eq!(changes.len(), 3);
        // No backup: setup made the file; undo takes regcred out again.
        let (made, _) = undone(&json!({"credHelpers": {"quay.io": "regcred"}}), &[]);
        assert_eq!(made, json!({}));
        // A second backup made after the first setup names regcred: the older one is used.
        let second = json!({"credsStore": "regcred"});
        let (twice, _) = undone(&json!({"credsStore": "regcred"}), &[original.clone(), second]);
        assert_eq!(twice["credsStore"], "desktop");
        // A credHelpers that only an earlier setup made (it is in the second backup) goes too.
        let made = json!({"credsStore": "desktop", "credHelpers": {"ghcr.io": "regcred"}});
        let (past_it, _) = undone(
            &json!({"credsStore": "regcred", "credHelpers": {"ghcr.io": "regcred"}}),
            &[json!({"credsStore": "desktop"}), made],
        );
        assert_eq!(past_it, json!({"credsStore": "desktop"}));
        // Nothing of regcred's: nothing to undo.
        assert!(undone(&original, &[]).1.is_empty());
    }
}
