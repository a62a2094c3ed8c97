//! The config files of the container clients regcred points at itself (`setup`) or reads
//! (`import`): where docker and the containers tools keep them, reading them without
//! following a planted link or blocking on a FIFO, and rewriting them with a backup that
//! never overwrites anything.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::fs::{FsError, PrivateFile, check_regular, open_no_follow};
use super::store::create_private_dir;

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

/// Where podman, skopeo and buildah keep credentials: `$REGISTRY_AUTH_FILE`, else
/// `$XDG_RUNTIME_DIR/containers/auth.json`, else `~/.config/containers/auth.json`.
pub fn auth_json_path() -> Option<PathBuf> {
    if let Some(file) = std::env::var_os("REGISTRY_AUTH_FILE").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(file));
    }
    if let Some(dir) = std::env::var_os("XDG_RUNTIME_DIR").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(dir).join("containers").join("auth.json"));
    }
    dirs::home_dir().map(|home| home.join(".config").join("containers").join("auth.json"))
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
/// file is first copied to a backup made with `O_CREAT|O_EXCL|O_NOFOLLOW`: the first
/// backup is never overwritten, later ones are numbered. Returns the backup's path.
pub fn write_with_backup(path: &Path, text: &str) -> Result<Option<PathBuf>, FsError> {
    let target = PrivateFile::new(path);
    let dir = target.dir();
    if !dir.is_dir() {
        create_private_dir(&dir)?;
    }
    let backup = match read_existing(path)? {
        Some(old) => Some(backup(path, &old)?),
        None => None,
    };
    target.replace(text.as_bytes())?;
    Ok(backup)
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

/// `PATH.regcred-backup`, else `PATH.regcred-backup.1`, `.2`, …: the first name free, made
/// exclusively, so nothing planted there is written through.
fn backup(path: &Path, bytes: &[u8]) -> Result<PathBuf, FsError> {
    let base = format!("{}.regcred-backup", path.display());
    for n in 0..1000u32 {
        let candidate = if n == 0 { PathBuf::from(&base) } else { PathBuf::from(format!("{base}.{n}")) };
        match PrivateFile::new(&candidate).create_new(bytes) {
            Ok(()) => return Ok(candidate),
            Err(FsError::Exists { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    Err(FsError::Exists { path: PathBuf::from(base) })
}
