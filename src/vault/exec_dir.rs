//! `regcred exec`'s private client configs: docker's `config.json` and the containers
//! `auth.json` in a 0700 temporary directory, sending every registry to
//! `docker-credential-regcred`. No secret is written: the helper answers from the store
//! when a client asks. The directory is removed when dropped or closed.

use std::path::{Path, PathBuf};

use regcred_core::RegistryAddress;
use serde_json::{Map, Value, json};

use super::clients::{ClientFileError, HELPER, read_json};
use super::fs::{FsError, PrivateFile};
#[cfg(unix)]
use super::fs::{effective_uid, mode_of};

/// The private directory and its two configs.
pub struct ExecDir(tempfile::TempDir);

impl ExecDir {
    /// Makes the directory and writes both configs: the user's docker config (at
    /// `user_config`) minus its credentials, and an `auth.json` sending `hosts` to regcred.
    /// The rest of the user's docker dir (contexts, buildx builders) is linked in.
    pub fn create(user_config: Option<&Path>, hosts: &[RegistryAddress]) -> Result<ExecDir, ClientFileError> {
        let config = client_config(user_config)?;
        let dir = ExecDir(private_dir()?);
        let text = serde_json::to_string_pretty(&Value::Object(config)).unwrap_or_default();
        PrivateFile::new(dir.config_dir().join("config.json")).create_scratch(text.as_bytes())?;
        let auth = serde_json::to_string_pretty(&AuthFile { auths: Map::new(), cred_helpers: CredHelpers(hosts) })
            .unwrap_or_default();
        PrivateFile::new(dir.auth_file()).create_scratch(auth.as_bytes())?;
        link_user_dir(dir.config_dir(), user_config);
        Ok(dir)
    }

    /// What `DOCKER_CONFIG` names.
    pub fn config_dir(&self) -> &Path {
        self.0.path()
    }

    /// What `REGISTRY_AUTH_FILE` names.
    pub fn auth_file(&self) -> PathBuf {
        self.0.path().join("auth.json")
    }

    /// Removes the directory, saying why it could not be.
    pub fn close(self) -> Result<(), FsError> {
        let path = self.0.path().to_path_buf();
        self.0.close().map_err(|e| FsError::io("cannot remove", &path, e))
    }
}

/// `auth.json`: no credentials, every host sent to regcred. Serialized from borrowed
/// addresses rather than built as a `Value` first: the same text, without an owned copy and
/// a map entry per host.
#[derive(serde::Serialize)]
struct AuthFile<'a> {
    auths: Map<String, Value>,
    #[serde(rename = "credHelpers")]
    cred_helpers: CredHelpers<'a>,
}

struct CredHelpers<'a>(&'a [RegistryAddress]);

impl serde::Serialize for CredHelpers<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter().map(|host| (host.as_str(), HELPER)))
    }
}

/// The user's docker config minus its credentials, sending every registry to regcred and
/// keeping the user's CLI plugins reachable.
fn client_config(user_config: Option<&Path>) -> Result<Map<String, Value>, ClientFileError> {
    let mut config = match user_config.map(read_json).transpose()? {
        Some(Value::Object(map)) => map,
        _ => Map::new(),
    };
    for key in ["auths", "credsStore", "credHelpers"] {
        config.remove(key);
    }
    config.insert("credsStore".into(), json!(HELPER));
    if let Some(plugins) = user_config.and_then(Path::parent).map(|dir| dir.join("cli-plugins")) {
        let plugins = Value::from(absolute(&plugins).to_string_lossy().into_owned());
        let dirs = config.entry("cliPluginsExtraDirs").or_insert_with(|| json!([]));
        match dirs {
            Value::Array(list) if !list.contains(&plugins) => list.push(plugins),
            Value::Array(_) => {}
            other => *other = json!([plugins]),
        }
    }
    Ok(config)
}

/// Best effort: a missing link costs a context or a builder, never a secret.
fn link_user_dir(dir: &Path, user_config: Option<&Path>) {
    #[cfg(unix)]
    if let Some(user_dir) = user_config.and_then(Path::parent)
        && let Ok(entries) = std::fs::read_dir(user_dir)
    {
        for entry in entries.flatten() {
            let name = entry.file_name();
            let skip = name.to_string_lossy().starts_with("config.json") || name == "cli-plugins";
            if !skip {
                let _ = std::os::unix::fs::symlink(entry.path(), dir.join(&name));
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (dir, user_config);
}

/// A new 0700 directory under [`parent_dir`], whatever the umask.
fn private_dir() -> Result<tempfile::TempDir, FsError> {
    let tmp = parent_dir();
    let fail = |e: std::io::Error| FsError::io("cannot create a private directory in", &tmp, e);
    let mut builder = tempfile::Builder::new();
    builder.prefix("regcred-exec-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o700));
        let dir = builder.tempdir_in(&tmp).map_err(fail)?;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700)).map_err(fail)?;
        Ok(dir)
    }
    #[cfg(not(unix))]
    builder.tempdir_in(&tmp).map_err(fail)
}

/// Where the private directory goes: `$TMPDIR` when the user set one; else
/// `$XDG_RUNTIME_DIR` when it is what the XDG spec promises (an absolute path to a directory
/// of ours that no one else may enter), as on systemd systems, where it is a per-user tmpfs:
/// private, never on a disk, and its `mkdir` and unlinks cost a fraction of a disk-backed
/// `/tmp`'s; else the system's temporary directory.
fn parent_dir() -> PathBuf {
    if std::env::var_os("TMPDIR").is_some_and(|dir| !dir.is_empty()) {
        return std::env::temp_dir();
    }
    #[cfg(unix)]
    if let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from) {
        use std::os::unix::fs::MetadataExt;
        let ours =
            |meta: std::fs::Metadata| meta.is_dir() && meta.uid() == effective_uid() && mode_of(&meta) & 0o077 == 0;
        if runtime.is_absolute() && std::fs::symlink_metadata(&runtime).is_ok_and(ours) {
            return runtime;
        }
    }
    std::env::temp_dir()
}

pub(crate) fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}
