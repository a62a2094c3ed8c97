//! `secrets.d/`: the directory of the file store's per-credential files: its name, the
//! names of the files in it (`ID.toml`) and of their temporary files, making it (0700,
//! kept its owner's), checking it, listing it, and unlinking a secret durably.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::vault::fs::{FsError, PrivateFile, check_owner, check_regular, mode_of};
use crate::vault::secrets::SecretError;

/// The directory's name in the config dir.
pub(crate) const DIR_NAME: &str = "secrets.d";
const SUFFIX: &str = ".toml";
/// The start of the name a secret's temporary files carry in the config dir.
const STAGED: &str = "secrets.d-";

/// `secrets.d/ID.toml`.
pub(super) fn file_of(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("{id}{SUFFIX}"))
}

/// `secrets.d/ID.toml` as a [`PrivateFile`] whose temporary files are made in the config
/// dir as `.secrets.d-ID.toml.XXXXXX.tmp`: the leftovers of killed writers are then found
/// by listing the config dir (a few files) rather than `secrets.d/` (one per credential).
pub(super) fn secret_file(dir: &Path, id: u64) -> PrivateFile {
    let config_dir = dir.parent().unwrap_or(Path::new("."));
    PrivateFile::new(file_of(dir, id)).staged_in(config_dir, format!("{STAGED}{id}{SUFFIX}"))
}

/// The id a file name stands for: exactly `ID.toml`, ID canonical decimal (no sign, no
/// leading zero), so that one id has one name.
fn id_of(name: &str) -> Option<u64> {
    let digits = name.strip_suffix(SUFFIX)?;
    let canonical =
        !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) && (digits == "0" || !digits.starts_with('0'));
    canonical.then(|| digits.parse().ok()).flatten()
}

/// Whether `name` is exactly a temporary file of a secret's file as [`secret_file`] makes
/// it: `.secrets.d-ID.toml.XXXXXX.tmp`, six alphanumerics. The store sweeps those that
/// writers killed mid-write left in the config dir under its exclusive lock, with those of
/// the config dir's files.
pub(crate) fn is_temp_name(name: &str) -> bool {
    let Some(rest) = name.strip_prefix('.').and_then(|r| r.strip_prefix(STAGED)) else { return false };
    let Some(random) = rest.strip_suffix(".tmp") else { return false };
    let Some(dot) = random.len().checked_sub(7) else { return false };
    let (file, random) = random.split_at(dot);
    id_of(file).is_some()
        && random.strip_prefix('.').is_some_and(|r| r.len() == 6 && r.bytes().all(|b| b.is_ascii_alphanumeric()))
}

/// Checks `dir` as far as reading needs: `Ok(false)` when it does not exist; refused when
/// something else stands there (a link is never followed), another user owns it or others
/// may write into it (they could plant or swap files).
pub(super) fn check(dir: &Path) -> Result<bool, SecretError> {
    let metadata = match fs::symlink_metadata(dir) {
        Ok(metadata) => metadata,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(FsError::io("cannot read", dir, e).into()),
    };
    if !metadata.is_dir() {
        // Says "a symbolic link (to …)" or "not a regular file" in the usual words.
        return Err(match check_regular(dir, &metadata) {
            Err(e) => e.into(),
            Ok(()) => SecretError::NotAFile { path: dir.to_owned(), what: "not a directory" },
        });
    }
    check_owner(dir, &metadata)?;
    let mode = mode_of(&metadata);
    if mode & 0o022 != 0 {
        return Err(SecretError::InsecurePermissions { path: dir.to_owned(), mode });
    }
    Ok(true)
}

/// [`check`], and also refused when others may read or enter it (doctor's check).
pub(super) fn check_private(dir: &Path) -> Result<(), SecretError> {
    if check(dir)? {
        let mode = fs::symlink_metadata(dir).map(|m| mode_of(&m)).unwrap_or(0o700);
        if mode & 0o077 != 0 {
            return Err(SecretError::InsecurePermissions { path: dir.to_owned(), mode });
        }
    }
    Ok(())
}

/// Makes `dir` (0700, set on its descriptor whatever the umask; made by root in a user's
/// config dir, it is that user's) unless it is there, then [`check`]s it.
pub(super) fn ensure(dir: &Path) -> Result<(), SecretError> {
    if check(dir)? {
        return Ok(());
    }
    // Made 0700 by the mkdir itself (the umask can only narrow it), so a process killed
    // before the fchmod below leaves no directory others may enter.
    let mut builder = fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    match builder.create(dir) {
        Ok(()) => {}
        // Made meanwhile: checked below like any other.
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(FsError::io("cannot create the directory", dir, e).into()),
    }
    #[cfg(unix)]
    {
        use rustix::fs::{Mode, OFlags};
        let fail = |e: rustix::io::Errno| SecretError::from(FsError::io("cannot set permissions on", dir, e.into()));
        let handle = rustix::fs::open(dir, OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::RDONLY, Mode::empty())
            .map_err(fail)?;
        rustix::fs::fchmod(&handle, Mode::from_raw_mode(0o700)).map_err(fail)?;
        if crate::vault::fs::effective_uid() == 0 {
            use std::os::unix::fs::MetadataExt;
            let parent = dir.parent().unwrap_or(Path::new("."));
            if let Ok(owner) = fs::metadata(parent)
                && owner.uid() != 0
            {
                let ids = (rustix::fs::Uid::from_raw(owner.uid()), rustix::fs::Gid::from_raw(owner.gid()));
                rustix::fs::fchown(&handle, Some(ids.0), Some(ids.1)).map_err(fail)?;
            }
        }
    }
    sync(dir.parent().unwrap_or(Path::new(".")));
    check(dir).map(drop)
}

/// The ids that have a file in `dir`, sorted (other names are not ours and are skipped).
pub(super) fn ids(dir: &Path) -> Result<Vec<u64>, SecretError> {
    if !check(dir)? {
        return Ok(Vec::new());
    }
    let entries = fs::read_dir(dir).map_err(|e| FsError::io("cannot read", dir, e))?;
    let mut ids = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|e| FsError::io("cannot read", dir, e))?;
        if let Some(id) = id_of(&entry.file_name().to_string_lossy()) {
            ids.push(id);
        }
    }
    ids.sort_unstable();
    Ok(ids)
}

/// Unlinks credential `id`'s file and syncs the directory, so the removal itself is
/// durable. A file that is already gone is no error.
pub(super) fn remove(dir: &Path, id: u64) -> Result<(), SecretError> {
    let path = file_of(dir, id);
    match fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(FsError::io("cannot remove", &path, e).into()),
    }
    sync(dir);
    Ok(())
}

/// Syncs a directory, making the renames and unlinks in it durable; not every platform
/// can open a directory.
pub(super) fn sync(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_canonical_names_are_secret_files() {
        assert_eq!(id_of("7.toml"), Some(7));
        assert_eq!(id_of("0.toml"), Some(0));
        assert_eq!(id_of("12345.toml"), Some(12345));
        for other in
            ["07.toml", "+7.toml", "7.toml.bak", ".7.toml", "7", "x.toml", ".toml", "99999999999999999999.toml"]
        {
            assert_eq!(id_of(other), None, "{other}");
        }
    }

    #[test]
    fn only_the_exact_temporary_names_are_leftovers() {
        assert!(is_temp_name(".secrets.d-7.toml.Ab3dEf.tmp"));
        assert!(is_temp_name(".secrets.d-120.toml.000000.tmp"));
        for other in [
            ".7.toml.Ab3dEf.tmp",
            ".secrets.d-7.toml.Ab3dEf",
            ".secrets.d-7.toml.Ab3dEfg.tmp",
            ".secrets.d-7.toml.Ab-dEf.tmp",
            ".secrets.d-07.toml.Ab3dEf.tmp",
            "secrets.d-7.toml.Ab3dEf.tmp",
            ".secrets.d-x.toml.Ab3dEf.tmp",
            ".secrets.d-7.toml.Ab3dEf.tmp.old",
            ".secrets.d-.toml.Ab3dEf.tmp",
            ".secrets.toml.Ab3dEf.tmp",
        ] {
            assert!(!is_temp_name(other), "{other}");
        }
    }
}
