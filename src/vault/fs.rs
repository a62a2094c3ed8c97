//! Private files: every file regcred writes goes through [`PrivateFile`], which refuses
//! links, FIFOs and other users' files on the open descriptor, sets modes on the
//! descriptor, replaces atomically (temporary file in the same directory, fsync, rename,
//! fsync of the directory, as cargo-util's `paths::write_atomic` does) and knows the exact
//! names of its temporary files, so a sweep never deletes anything else.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use zeroize::Zeroizing;

/// How many temporary files [`PrivateFile::replace_many`] has under way at once.
const STAGED_AT_ONCE: usize = 256;

/// Random characters in a temporary file's name (`.NAME.XXXXXX.tmp`).
const TEMP_RANDOM: usize = 6;
const TEMP_SUFFIX: &str = ".tmp";

/// Why a private file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    #[error("{action} {}: {source}", path.display())]
    Io {
        /// "cannot read", "cannot create a temporary file for", …
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("{} is {}; regcred refuses to use it", path.display(), kind.words())]
    NotAFile { path: PathBuf, kind: NotAFile },
    #[error("{} is read-only (mode {mode:04o}); regcred leaves it unchanged", path.display())]
    ReadOnly { path: PathBuf, mode: u32 },
    #[error("{} is writable by other users (mode {mode:04o}); refusing to use it", path.display())]
    WritableByOthers { path: PathBuf, mode: u32 },
    #[error("{} belongs to another user (uid {owner}, not {user}); refusing to use it", path.display())]
    NotOwned { path: PathBuf, owner: u32, user: u32 },
    #[error("{} already exists; regcred does not overwrite it", path.display())]
    Exists { path: PathBuf },
}

/// What stands where a regular file belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotAFile {
    Symlink {
        target: String,
    },
    Directory,
    /// Where a directory belongs.
    NotADirectory,
    Other,
}

impl NotAFile {
    /// A short word for the kind, without the link's target.
    pub fn word(&self) -> &'static str {
        match self {
            NotAFile::Symlink { .. } => "a symbolic link",
            NotAFile::Directory => "a directory",
            NotAFile::NotADirectory => "not a directory",
            NotAFile::Other => "not a regular file",
        }
    }

    fn words(&self) -> String {
        match self {
            NotAFile::Symlink { target } => format!("a symbolic link (to {target})"),
            other => other.word().to_owned(),
        }
    }
}

impl FsError {
    /// The `hint:` for the user, where one helps.
    pub fn hint(&self) -> Option<String> {
        match self {
            FsError::Io { .. } => None,
            FsError::NotAFile { path, kind: NotAFile::Symlink { .. } } => Some(format!(
                "regcred replaces its files atomically and would replace the link; put the file itself at {} instead",
                path.display()
            )),
            FsError::NotAFile { path, kind: NotAFile::Directory } => {
                Some(format!("move the directory {} out of the way", path.display()))
            }
            FsError::NotAFile { path, .. } | FsError::Exists { path } => {
                Some(format!("move {} out of the way", path.display()))
            }
            FsError::ReadOnly { path, .. } => Some(format!("to allow changes again: chmod 600 {}", path.display())),
            FsError::WritableByOthers { path, .. } if path.is_dir() => {
                Some(format!("check what is in it, then run: chmod 700 {}", path.display()))
            }
            FsError::WritableByOthers { path, .. } => {
                Some(format!("check the file's content, then run: chmod 600 {}", path.display()))
            }
            FsError::NotOwned { path, .. } => Some(format!(
                "another user may have planted it; check it, then remove it or give it to yourself (chown) at {}",
                path.display()
            )),
        }
    }

    pub fn io(action: &'static str, path: &Path, source: io::Error) -> FsError {
        FsError::Io { action, path: path.to_owned(), source }
    }
}

/// What a private file held when read: by [`PrivateFile::read`], its bytes wiped when
/// dropped; by [`PrivateFile::read_unsecret`], a [`Buffer`].
pub struct Contents<B = Zeroizing<Vec<u8>>> {
    /// The file's bytes.
    pub bytes: B,
    /// Permission bits (`0o7777`); `0o600` where there are none.
    pub mode: u32,
    /// Device and inode of the file read: a reader tells by them whether the path still
    /// names the same file (0 where the platform has none).
    pub identity: (u64, u64),
}

/// The bytes of a file that holds no secret. A big one (a 2.3 MB `registries.toml` at
/// 10,000 credentials) is read into an anonymous mapping of its own that the kernel is
/// advised to back with huge pages: a fresh heap buffer of that size takes ~570 page faults
/// to fill, about a millisecond of system time here, where huge pages take a handful.
pub enum Buffer {
    Heap(Vec<u8>),
    Mapped { map: memmap2::MmapMut, len: usize },
}

impl Buffer {
    /// From this size on, a file is read into a mapping (whose length is a whole number of
    /// huge pages: a smaller one would get none).
    const MAPPED_FROM: usize = 1 << 20;
    const HUGE_PAGE: usize = 2 << 20;

    /// Reads `file` to its end; `size` is its length when opened.
    fn read(file: &mut File, size: usize) -> io::Result<Buffer> {
        if size < Self::MAPPED_FROM {
            let mut bytes = Vec::with_capacity(size.saturating_add(1));
            file.read_to_end(&mut bytes)?;
            return Ok(Buffer::Heap(bytes));
        }
        // Room for one byte more than the file had, so that a file grown since is seen to
        // have grown (and read on into the heap).
        let capacity = size.saturating_add(1).next_multiple_of(Self::HUGE_PAGE);
        let mut map = memmap2::MmapMut::map_anon(capacity)?;
        // Advice: without huge pages the mapping is ordinary memory.
        #[cfg(target_os = "linux")]
        let _ = map.advise(memmap2::Advice::HugePage);
        let mut len = 0;
        while len < capacity {
            match file.read(&mut map[len..]) {
                Ok(0) => return Ok(Buffer::Mapped { map, len }),
                Ok(n) => len += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        let mut bytes = map[..len].to_vec();
        file.read_to_end(&mut bytes)?;
        Ok(Buffer::Heap(bytes))
    }

    pub fn into_vec(self) -> Vec<u8> {
        match self {
            Buffer::Heap(bytes) => bytes,
            Buffer::Mapped { .. } => self.to_vec(),
        }
    }
}

impl std::ops::Deref for Buffer {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        match self {
            Buffer::Heap(bytes) => bytes,
            Buffer::Mapped { map, len } => &map[..*len],
        }
    }
}

/// One file regcred owns: read with checks on the open descriptor, replaced atomically.
#[derive(Debug, Clone)]
pub struct PrivateFile {
    path: PathBuf,
    mode: u32,
    /// Where its temporary files are made and the name they carry, when not beside it
    /// under its own name (see [`staged_in`](Self::staged_in)).
    staging: Option<(PathBuf, String)>,
}

impl PrivateFile {
    /// A file only its owner may read and write (0600).
    pub fn new(path: impl Into<PathBuf>) -> PrivateFile {
        PrivateFile { path: path.into(), mode: 0o600, staging: None }
    }

    /// A file other programs must read (0644: a CA certificate, a registries.conf drop-in);
    /// never for anything secret.
    pub fn public(path: impl Into<PathBuf>) -> PrivateFile {
        PrivateFile { path: path.into(), mode: 0o644, staging: None }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The directory the file lives in (`.` for a bare name).
    pub fn dir(&self) -> PathBuf {
        match self.path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        }
    }

    fn name(&self) -> String {
        self.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
    }

    /// Makes its temporary files in `dir` (on the same file system) as `.NAME.XXXXXX.tmp`
    /// instead of beside it: for the files of a directory that holds thousands (the file
    /// store's `secrets.d/`), whose leftovers would otherwise be looked for by listing all
    /// of them at every lock. The rename into place stays atomic, and the file's own
    /// directory is synced after it. `dir` is not: if a crash loses the removal of the
    /// temporary name there, what comes back is a leftover of exactly that name, which the
    /// next sweep removes; one fsync fewer per write.
    pub fn staged_in(mut self, dir: impl Into<PathBuf>, name: impl Into<String>) -> PrivateFile {
        self.staging = Some((dir.into(), name.into()));
        self
    }

    /// The directory its temporary files are made in.
    fn temp_dir(&self) -> PathBuf {
        match &self.staging {
            Some((dir, _)) => dir.clone(),
            None => self.dir(),
        }
    }

    /// The name its temporary files carry.
    fn temp_name(&self) -> String {
        match &self.staging {
            Some((_, name)) => name.clone(),
            None => self.name(),
        }
    }

    /// Reads the file; `None` when it does not exist. Refused: a link (never followed), a
    /// FIFO or device (opened without blocking, then checked on the descriptor), another
    /// user's file, and a file others may write.
    pub fn read(&self) -> Result<Option<Contents>, FsError> {
        let Some((mut file, metadata, mode)) = self.open_checked()? else { return Ok(None) };
        // Sized up front so the buffer holding every secret is never reallocated (and the
        // old copy left behind unwiped).
        let capacity = usize::try_from(metadata.len()).unwrap_or(0).saturating_add(1);
        let mut bytes = Zeroizing::new(Vec::with_capacity(capacity));
        file.read_to_end(&mut bytes).map_err(|e| FsError::io("cannot read", &self.path, e))?;
        Ok(Some(Contents { bytes, mode, identity: identity_of(&metadata) }))
    }

    /// [`read`](Self::read) for a file that holds no secret (`registries.toml` and its
    /// journal): its bytes are not wiped, and a big one is read into memory of its own (see
    /// [`Buffer`]).
    pub fn read_unsecret(&self) -> Result<Option<Contents<Buffer>>, FsError> {
        let Some((mut file, metadata, mode)) = self.open_checked()? else { return Ok(None) };
        let size = usize::try_from(metadata.len()).unwrap_or(0);
        let bytes = Buffer::read(&mut file, size).map_err(|e| FsError::io("cannot read", &self.path, e))?;
        Ok(Some(Contents { bytes, mode, identity: identity_of(&metadata) }))
    }

    /// Whether the file holds exactly `expected`, opened and checked as by
    /// [`read`](Self::read) but compared piece by piece: no buffer of the file's size is
    /// made (for a 2.3 MB store, ~570 page faults and a copy). `None` when it does not exist.
    pub fn holds(&self, expected: &[u8]) -> Result<Option<bool>, FsError> {
        let Some((mut file, metadata, _)) = self.open_checked()? else { return Ok(None) };
        if metadata.len() != expected.len() as u64 {
            return Ok(Some(false));
        }
        let mut piece = vec![0u8; 64 * 1024];
        let mut at = 0;
        loop {
            let n = file.read(&mut piece).map_err(|e| FsError::io("cannot read", &self.path, e))?;
            if n == 0 {
                return Ok(Some(at == expected.len()));
            }
            if expected.get(at..at + n) != Some(&piece[..n]) {
                return Ok(Some(false));
            }
            at += n;
        }
    }

    /// Opens the file for reading without following a link, and checks on the descriptor
    /// that it is a regular file of ours that others may not write. Returns it with its
    /// metadata and mode; `None` when it does not exist.
    fn open_checked(&self) -> Result<Option<(File, fs::Metadata, u32)>, FsError> {
        let file = match open_no_follow(&self.path, false) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.refusal_or(e, "cannot read")),
        };
        let metadata = file.metadata().map_err(|e| FsError::io("cannot read", &self.path, e))?;
        check_regular(&self.path, &metadata)?;
        check_owner(&self.path, &metadata)?;
        let mode = mode_of(&metadata);
        if mode & 0o022 != 0 {
            return Err(FsError::WritableByOthers { path: self.path.clone(), mode });
        }
        Ok(Some((file, metadata, mode)))
    }

    /// Checks that the file may be replaced: absent, or a regular file of ours that its
    /// owner did not make read-only. Returns the owner a replacement must keep.
    fn check_replaceable(&self) -> Result<Owner, FsError> {
        match fs::symlink_metadata(&self.path) {
            Ok(metadata) => {
                check_regular(&self.path, &metadata)?;
                check_owner(&self.path, &metadata)?;
                let mode = mode_of(&metadata);
                if mode & 0o200 == 0 {
                    return Err(FsError::ReadOnly { path: self.path.clone(), mode });
                }
                Ok(Owner::of(&metadata))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                let dir = self.dir();
                Ok(fs::metadata(&dir).map(|m| Owner::of(&m)).unwrap_or_default())
            }
            Err(e) => Err(FsError::io("cannot read", &self.path, e)),
        }
    }

    /// Replaces the file so that a reader sees either the old or the new content, never a
    /// torn file: a temporary file made with `O_EXCL` in the same directory, its mode set
    /// on the descriptor, fsync, rename, fsync of the directory. When root writes into a
    /// user's directory, the file keeps that user as its owner.
    pub fn replace(&self, bytes: &[u8]) -> Result<(), FsError> {
        let owner = self.check_replaceable()?;
        let fail = |action: &'static str| move |e: io::Error| FsError::io(action, &self.path, e);
        let mut temp = self.temp_file(owner)?;
        temp.write_all(bytes).map_err(fail("cannot write"))?;
        temp.as_file().sync_all().map_err(fail("cannot flush"))?;
        temp.persist(&self.path).map_err(|e| FsError::io("cannot replace", &self.path, e.error))?;
        sync_dir(&self.dir());
        Ok(())
    }

    /// [`replace`](Self::replace) for many files at once, flushed together: every
    /// temporary file is written (and closed: thousands of them may be under way) first,
    /// then all are flushed in one go (Linux: one `syncfs` of their file system; elsewhere
    /// each is fsync'd), then each is renamed into place and each directory synced once.
    /// A crash leaves every file old or new, never torn; which of them are new is
    /// undefined, so the caller orders what depends on them after this returns. One
    /// fsync per file would make moving 10,000 secrets take minutes.
    ///
    /// The files go [`STAGED_AT_ONCE`] at a time: a directory never gives back the room
    /// its entries took (ext4), and 10,000 temporary files at once left the config dir at
    /// ~540 KB, which the sweep at every lock then read through. After an error some
    /// files may be new, as after a crash.
    pub fn replace_many(files: &[(PrivateFile, &[u8])]) -> Result<(), FsError> {
        files.chunks(STAGED_AT_ONCE).try_for_each(Self::replace_staged)
    }

    fn replace_staged(files: &[(PrivateFile, &[u8])]) -> Result<(), FsError> {
        let mut temps = Vec::with_capacity(files.len());
        for (file, bytes) in files {
            let owner = file.check_replaceable()?;
            let fail = |action: &'static str| move |e: io::Error| FsError::io(action, &file.path, e);
            let mut temp = file.temp_file(owner)?;
            temp.write_all(bytes).map_err(fail("cannot write"))?;
            if cfg!(not(target_os = "linux")) {
                temp.as_file().sync_all().map_err(fail("cannot flush"))?;
            }
            temps.push((file, temp.into_temp_path()));
        }
        #[cfg(target_os = "linux")]
        if let Some((file, _)) = temps.first() {
            let dir =
                File::open(file.temp_dir()).map_err(|e| FsError::io("cannot open the directory of", &file.path, e))?;
            rustix::fs::syncfs(&dir).map_err(|e| FsError::io("cannot flush", &file.path, e.into()))?;
        }
        let mut dirs = Vec::new();
        for (file, temp) in temps {
            temp.persist(&file.path).map_err(|e| FsError::io("cannot replace", &file.path, e.error))?;
            let dir = file.dir();
            if !dirs.contains(&dir) {
                dirs.push(dir);
            }
        }
        for dir in dirs {
            sync_dir(&dir);
        }
        Ok(())
    }

    /// A new temporary file beside this one, or where it is staged (`.NAME.XXXXXX.tmp`,
    /// `O_EXCL`), its mode set on the descriptor, given to `owner`.
    fn temp_file(&self, owner: Owner) -> Result<tempfile::NamedTempFile, FsError> {
        let fail = |action: &'static str| move |e: io::Error| FsError::io(action, &self.path, e);
        let prefix = temp_prefix(&self.temp_name());
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(TEMP_SUFFIX).rand_bytes(TEMP_RANDOM);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(fs::Permissions::from_mode(self.mode));
        }
        let temp = builder.tempfile_in(self.temp_dir()).map_err(fail("cannot create a temporary file for"))?;
        set_mode(temp.as_file(), self.mode).map_err(fail("cannot set permissions for"))?;
        owner.give(temp.as_file()).map_err(fail("cannot keep the owner of"))?;
        Ok(temp)
    }

    /// Writes a new file that must not exist yet (`O_CREAT|O_EXCL|O_NOFOLLOW`): whatever
    /// stands at the path (a file, a planted link or FIFO) is left alone and reported.
    pub fn create_new(&self, bytes: &[u8]) -> Result<(), FsError> {
        self.create(bytes, true)
    }

    /// [`create_new`](Self::create_new) without the fsyncs, for a file that lives only as
    /// long as this process (`exec`'s configs), where a sync would cost more than the rest.
    pub fn create_scratch(&self, bytes: &[u8]) -> Result<(), FsError> {
        self.create(bytes, false)
    }

    fn create(&self, bytes: &[u8], durable: bool) -> Result<(), FsError> {
        let owner = self.check_dir_owner()?;
        let file = create_exclusive(&self.path, self.mode).map_err(|e| {
            if e.kind() == io::ErrorKind::AlreadyExists {
                FsError::Exists { path: self.path.clone() }
            } else {
                FsError::io("cannot create", &self.path, e)
            }
        })?;
        let fail = |action: &'static str| move |e: io::Error| FsError::io(action, &self.path, e);
        set_mode(&file, self.mode).map_err(fail("cannot set permissions for"))?;
        owner.give(&file).map_err(fail("cannot keep the owner of"))?;
        let mut file = file;
        let written = file.write_all(bytes).and_then(|()| if durable { file.sync_all() } else { Ok(()) });
        if let Err(e) = written {
            let _ = fs::remove_file(&self.path);
            return Err(FsError::io("cannot write", &self.path, e));
        }
        if durable {
            sync_dir(&self.dir());
        }
        Ok(())
    }

    fn check_dir_owner(&self) -> Result<Owner, FsError> {
        let dir = self.dir();
        Ok(fs::metadata(&dir).map(|m| Owner::of(&m)).unwrap_or_default())
    }

    /// An error from opening with `O_NOFOLLOW`: say what stands there rather than errno.
    fn refusal_or(&self, error: io::Error, action: &'static str) -> FsError {
        match fs::symlink_metadata(&self.path) {
            Ok(metadata) if !metadata.is_file() => match not_a_file(&self.path, &metadata) {
                Some(kind) => FsError::NotAFile { path: self.path.clone(), kind },
                None => FsError::io(action, &self.path, error),
            },
            _ => FsError::io(action, &self.path, error),
        }
    }

    /// Temporary files a writer of this file left when it was killed mid-write.
    pub fn leftovers(&self) -> Vec<PathBuf> {
        leftovers_in(&self.temp_dir(), &[self.temp_name().as_str()], &[])
    }

    /// Removes [`leftovers`](Self::leftovers); only sound where no writer can be under way.
    pub fn sweep(&self) {
        for leftover in self.leftovers() {
            let _ = fs::remove_file(leftover);
        }
    }
}

/// `.NAME.`: the start of the temporary files replacing NAME.
fn temp_prefix(name: &str) -> String {
    format!(".{name}.")
}

/// Whether `candidate` is exactly a temporary file name of one of `names`
/// (`.NAME.XXXXXX.tmp`, X alphanumeric), or exactly one of the older `legacy` patterns
/// (prefix, six alphanumerics, suffix).
pub fn is_temp_name(candidate: &str, names: &[&str], legacy: &[(&str, &str)]) -> bool {
    let random = |s: &str| s.len() == TEMP_RANDOM && s.bytes().all(|b| b.is_ascii_alphanumeric());
    let ours = names.iter().any(|name| {
        candidate.strip_prefix(&temp_prefix(name)).and_then(|rest| rest.strip_suffix(TEMP_SUFFIX)).is_some_and(random)
    });
    ours || legacy.iter().any(|(prefix, suffix)| {
        candidate.strip_prefix(prefix).and_then(|rest| rest.strip_suffix(suffix)).is_some_and(random)
    })
}

/// Regular files in `dir` named exactly as the temporary files of `names` (or of the
/// `legacy` patterns), sorted.
pub fn leftovers_in(dir: &Path, names: &[&str], legacy: &[(&str, &str)]) -> Vec<PathBuf> {
    temp_files_in(dir, |name| is_temp_name(name, names, legacy))
}

/// Regular files in `dir` whose names `is_temp` takes for temporary files, sorted: one
/// listing of `dir`, which may be big.
pub fn temp_files_in(dir: &Path, is_temp: impl Fn(&str) -> bool) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else { return Vec::new() };
    let mut found: Vec<PathBuf> = entries
        .flatten()
        .filter(|entry| is_temp(&entry.file_name().to_string_lossy()) && entry.file_type().is_ok_and(|t| t.is_file()))
        .map(|entry| entry.path())
        .collect();
    found.sort();
    found
}

/// The owner a file written by root into a user's directory keeps.
#[derive(Debug, Clone, Copy, Default)]
struct Owner {
    #[cfg(unix)]
    ids: Option<(u32, u32)>,
}

impl Owner {
    #[cfg(unix)]
    fn of(metadata: &fs::Metadata) -> Owner {
        use std::os::unix::fs::MetadataExt;
        Owner { ids: Some((metadata.uid(), metadata.gid())) }
    }

    #[cfg(not(unix))]
    fn of(_: &fs::Metadata) -> Owner {
        Owner {}
    }

    /// Only root can give a file away, and only root needs to: anyone else creates files
    /// as themselves in their own directory.
    #[cfg(unix)]
    fn give(&self, file: &File) -> io::Result<()> {
        match self.ids {
            Some((uid, gid)) if effective_uid() == 0 && uid != 0 => {
                std::os::unix::fs::fchown(file, Some(uid), Some(gid))
            }
            _ => Ok(()),
        }
    }

    #[cfg(not(unix))]
    fn give(&self, _: &File) -> io::Result<()> {
        Ok(())
    }
}

/// The user this process acts as.
#[cfg(unix)]
pub fn effective_uid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Opens without following a final symbolic link and without blocking on a FIFO; the
/// caller checks the type on the descriptor.
pub fn open_no_follow(path: &Path, write: bool) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true).write(write);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags((rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::NONBLOCK).bits() as i32);
    }
    options.open(path)
}

/// `O_CREAT|O_EXCL|O_NOFOLLOW` with `mode` (the umask may narrow it; the caller sets it on
/// the descriptor).
fn create_exclusive(path: &Path, mode: u32) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(mode).custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32);
    }
    #[cfg(not(unix))]
    let _ = mode;
    options.open(path)
}

/// Opens (creating it with `mode` if needed) a file that must be a regular file of ours,
/// checked on the descriptor: a planted link is never followed, a FIFO never blocks.
pub fn open_or_create_ours(path: &Path, mode: u32) -> Result<File, FsError> {
    let file = match create_exclusive(path, mode) {
        Ok(file) => {
            set_mode(&file, mode).map_err(|e| FsError::io("cannot set permissions for", path, e))?;
            // Made by root in a user's directory: the user's, like everything else there.
            let dir = PrivateFile::new(path).dir();
            let owner = fs::metadata(&dir).map(|m| Owner::of(&m)).unwrap_or_default();
            owner.give(&file).map_err(|e| FsError::io("cannot keep the owner of", path, e))?;
            file
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            open_no_follow(path, true).map_err(|e| PrivateFile::new(path).refusal_or(e, "cannot open"))?
        }
        Err(e) => {
            return Err(match fs::symlink_metadata(path) {
                Ok(metadata) if !metadata.is_file() => match not_a_file(path, &metadata) {
                    Some(kind) => FsError::NotAFile { path: path.to_owned(), kind },
                    None => FsError::io("cannot open", path, e),
                },
                _ => FsError::io("cannot open", path, e),
            });
        }
    };
    let metadata = file.metadata().map_err(|e| FsError::io("cannot open", path, e))?;
    check_regular(path, &metadata)?;
    check_owner(path, &metadata)?;
    let mode = mode_of(&metadata);
    if mode & 0o022 != 0 {
        return Err(FsError::WritableByOthers { path: path.to_owned(), mode });
    }
    Ok(file)
}

/// Sets the mode on the open descriptor (`fchmod`): never through a path an attacker could
/// swap for a link in between.
pub fn set_mode(file: &File, mode: u32) -> io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        file.set_permissions(fs::Permissions::from_mode(mode))
    }
    #[cfg(not(unix))]
    {
        let _ = (file, mode);
        Ok(())
    }
}

/// Device and inode, where the platform has them.
pub fn identity_of(metadata: &fs::Metadata) -> (u64, u64) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        (metadata.dev(), metadata.ino())
    }
    #[cfg(not(unix))]
    {
        let _ = metadata;
        (0, 0)
    }
}

/// Makes the creation, rename or removal of `path` durable: syncs the directory it is in.
pub fn sync_dir_of(path: &Path) {
    sync_dir(&PrivateFile::new(path).dir());
}

fn sync_dir(dir: &Path) {
    // Makes the rename itself durable; not every platform can open a directory.
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// Refuses anything that is not a plain file where a file of ours belongs.
pub fn check_regular(path: &Path, metadata: &fs::Metadata) -> Result<(), FsError> {
    match not_a_file(path, metadata) {
        None => Ok(()),
        Some(kind) => Err(FsError::NotAFile { path: path.to_owned(), kind }),
    }
}

fn not_a_file(path: &Path, metadata: &fs::Metadata) -> Option<NotAFile> {
    let kind = metadata.file_type();
    if kind.is_file() {
        None
    } else if kind.is_symlink() {
        let target = fs::read_link(path).map(|t| t.display().to_string()).unwrap_or_else(|_| "?".into());
        Some(NotAFile::Symlink { target })
    } else if kind.is_dir() {
        Some(NotAFile::Directory)
    } else {
        Some(NotAFile::Other)
    }
}

/// Refuses a file or directory that belongs to another user (as ssh does); root may use
/// anyone's, and keeps their ownership when writing.
pub fn check_owner(path: &Path, metadata: &fs::Metadata) -> Result<(), FsError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let user = effective_uid();
        if user != 0 && metadata.uid() != user {
            return Err(FsError::NotOwned { path: path.to_owned(), owner: metadata.uid(), user });
        }
    }
    #[cfg(not(unix))]
    let _ = (path, metadata);
    Ok(())
}

/// Permission bits; Windows has none (the file lives in the user's profile).
pub fn mode_of(metadata: &fs::Metadata) -> u32 {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        metadata.permissions().mode() & 0o7777
    }
    #[cfg(not(unix))]
    {
        let _ = metadata;
        0o600
    }
}

/// A directory other users (the docker daemon, rootless podman) can read: created 0755
/// when missing (mode set on its descriptor), used as it is when present. With
/// `follow_link` false a symbolic link in its place is refused: a link planted under a
/// certs dir would send the files written there anywhere.
pub fn ensure_public_dir(dir: &Path, follow_link: bool) -> Result<(), FsError> {
    match fs::symlink_metadata(dir) {
        Ok(metadata) if metadata.is_dir() => return Ok(()),
        Ok(metadata) if metadata.file_type().is_symlink() && follow_link && dir.is_dir() => return Ok(()),
        Ok(metadata) => {
            let kind = match not_a_file(dir, &metadata) {
                Some(link @ NotAFile::Symlink { .. }) => link,
                _ => NotAFile::NotADirectory,
            };
            return Err(FsError::NotAFile { path: dir.to_owned(), kind });
        }
        // Under a file (ENOTDIR): said by the attempt to make it, which names the cause.
        Err(e) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => {}
        Err(e) => return Err(FsError::io("cannot read", dir, e)),
    }
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o755);
    }
    builder.create(dir).map_err(|e| FsError::io("cannot create the directory", dir, e))?;
    #[cfg(unix)]
    {
        use rustix::fs::{Mode, OFlags};
        let handle = rustix::fs::open(dir, OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::RDONLY, Mode::empty())
            .map_err(|e| FsError::io("cannot open the directory", dir, e.into()))?;
        rustix::fs::fchmod(&handle, Mode::from_raw_mode(0o755))
            .map_err(|e| FsError::io("cannot set permissions on", dir, e.into()))?;
    }
    Ok(())
}

/// What `doctor` found about the mode of a file or directory of the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModeCheck {
    /// Exactly the mode wanted.
    Right,
    /// Another mode; not asked to fix it.
    Wrong { mode: u32 },
    /// Was `was`, now the mode wanted.
    Fixed { was: u32 },
    /// Another mode that could not be changed.
    Unchangeable { mode: u32, why: String },
    /// Left alone whatever its mode: a link (never followed), a shared sticky directory,
    /// another user's.
    Refused { why: String },
}

/// Checks (and with `fix`, sets) the mode of `path`, a directory when `dir`. Never follows
/// a link, never strips a sticky bit, never changes another user's file; the mode is set
/// on a descriptor opened without following links, after checking it is what was looked
/// at. `None` when nothing is there.
pub fn check_mode(path: &Path, wanted: u32, dir: bool, fix: bool) -> Option<ModeCheck> {
    let metadata = fs::symlink_metadata(path).ok()?;
    if metadata.file_type().is_symlink() {
        return Some(ModeCheck::Refused { why: "is a symbolic link; doctor does not follow it".into() });
    }
    let mode = mode_of(&metadata);
    if mode & 0o1000 != 0 {
        return Some(ModeCheck::Refused {
            why: format!("is a shared directory (mode {mode:04o}, sticky); doctor leaves it as it is"),
        });
    }
    if let Err(e) = check_owner(path, &metadata) {
        return Some(ModeCheck::Refused { why: e.to_string() });
    }
    if mode & 0o777 == wanted {
        return Some(ModeCheck::Right);
    }
    if !fix {
        return Some(ModeCheck::Wrong { mode });
    }
    Some(match set_mode_no_follow(path, &metadata, wanted, dir) {
        Ok(()) => ModeCheck::Fixed { was: mode },
        Err(e) => ModeCheck::Unchangeable { mode, why: e.to_string() },
    })
}

#[cfg(unix)]
fn set_mode_no_follow(path: &Path, seen: &fs::Metadata, wanted: u32, dir: bool) -> io::Result<()> {
    use rustix::fs::{Mode, OFlags};
    use std::os::unix::fs::MetadataExt;
    let kind = if dir { OFlags::DIRECTORY } else { OFlags::NONBLOCK };
    let handle = rustix::fs::open(path, kind | OFlags::NOFOLLOW | OFlags::RDONLY, Mode::empty())?;
    let stat = rustix::fs::fstat(&handle)?;
    if stat.st_ino as u64 != seen.ino() || stat.st_dev as u64 != seen.dev() {
        return Err(io::Error::other("it was replaced while doctor looked at it"));
    }
    rustix::fs::fchmod(&handle, Mode::from_raw_mode(wanted))?;
    Ok(())
}

#[cfg(not(unix))]
fn set_mode_no_follow(_: &Path, _: &fs::Metadata, _: u32, _: bool) -> io::Result<()> {
    Ok(())
}

/// 1-based line and column (in characters) of byte `offset` in `bytes`.
pub fn line_column(bytes: &[u8], offset: usize) -> (usize, usize) {
    let before = &bytes[..offset.min(bytes.len())];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let column = String::from_utf8_lossy(&before[line_start..]).chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_holds_the_whole_file_small_or_big_and_grown_since_it_was_opened() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let bytes: Vec<u8> = (0..5 * Buffer::HUGE_PAGE / 2).map(|i| (i % 251) as u8).collect();
        for (len, said, mapped) in [
            (0, 0, false),
            (1000, 1000, false),
            (Buffer::MAPPED_FROM - 1, Buffer::MAPPED_FROM - 1, false),
            (Buffer::MAPPED_FROM, Buffer::MAPPED_FROM, true),
            (Buffer::HUGE_PAGE, Buffer::HUGE_PAGE, true),
            // Grown since opened: within the mapping's room, and past it (read on into the heap).
            (Buffer::MAPPED_FROM + 10, Buffer::MAPPED_FROM, true),
            (Buffer::HUGE_PAGE, Buffer::HUGE_PAGE - 1, false),
            (bytes.len(), Buffer::MAPPED_FROM, false),
        ] {
            fs::write(&path, &bytes[..len]).unwrap();
            let buffer = Buffer::read(&mut File::open(&path).unwrap(), said).unwrap();
            assert_eq!(&buffer[..], &bytes[..len], "{len} bytes, said {said}");
            assert_eq!(matches!(buffer, Buffer::Mapped { .. }), mapped, "{len} bytes, said {said}");
            assert_eq!(buffer.into_vec(), &bytes[..len]);
        }
    }

    #[test]
    fn a_read_that_fails_is_an_error_and_not_tried_again() {
        // A directory opened as a file: every read fails (EISDIR), small or big.
        let dir = tempfile::tempdir().unwrap();
        for said in [0, Buffer::MAPPED_FROM] {
            let error = Buffer::read(&mut File::open(dir.path()).unwrap(), said).err().expect("a directory was read");
            assert_eq!(error.kind(), io::ErrorKind::IsADirectory, "said {said}: {error}");
        }
    }

    #[test]
    fn leftovers_are_the_regular_files_with_a_temporary_name_of_the_file_sorted() {
        let dir = tempfile::tempdir().unwrap();
        let file = PrivateFile::new(dir.path().join("f"));
        file.replace(b"kept").unwrap();
        for name in [".f.Zz9yYx.tmp", ".f.Ab3dEf.tmp", "other", ".f.Ab3dEf.tmp.old", ".g.Ab3dEf.tmp"] {
            fs::write(dir.path().join(name), b"x").unwrap();
        }
        // A directory with a temporary name is no writer's leftover.
        fs::create_dir(dir.path().join(".f.Cc3dEf.tmp")).unwrap();
        let expected = [dir.path().join(".f.Ab3dEf.tmp"), dir.path().join(".f.Zz9yYx.tmp")];
        assert_eq!(file.leftovers(), expected);
        assert_eq!(leftovers_in(dir.path(), &["f", "g"], &[]).len(), 3);
        assert_eq!(temp_files_in(dir.path(), |name| name.starts_with('.')).len(), 4, "regular files only");
        file.sweep();
        assert!(file.leftovers().is_empty());
        let mut left: Vec<String> =
            fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        left.sort();
        assert_eq!(left, [".f.Ab3dEf.tmp.old", ".f.Cc3dEf.tmp", ".g.Ab3dEf.tmp", "f", "other"]);
        assert_eq!(fs::read(file.path()).unwrap(), b"kept");
    }

    #[test]
    fn line_and_column_count_from_one() {
        let text = b"version = 1\nstore_id = \n";
        assert_eq!(line_column(text, 0), (1, 1));
        assert_eq!(line_column(text, 12), (2, 1));
        assert_eq!(line_column(text, 23), (2, 12));
    }

    #[test]
    fn only_the_exact_temporary_names_are_leftovers() {
        let names = ["secrets.toml"];
        let legacy = [(".regcred-", ".tmp")];
        assert!(is_temp_name(".secrets.toml.Ab3dEf.tmp", &names, &legacy));
        assert!(is_temp_name(".regcred-Gh5iJk.tmp", &names, &legacy));
        for other in [
            ".secrets.toml.bak-2024",
            ".secrets.toml.Ab3dEf",
            ".secrets.toml.Ab3dEfg.tmp",
            ".secrets.toml.Ab-dEf.tmp",
            ".secrets.toml.Ab3dEf.tmp.old",
            "secrets.toml.Ab3dEf.tmp",
            ".regcred-Gh5iJk.tmp~",
            ".registries.toml.Ab3dEf.tmp",
        ] {
            assert!(!is_temp_name(other, &names, &legacy), "{other}");
        }
    }

    #[test]
    fn replace_many_goes_a_few_hundred_files_at_a_time_and_leaves_no_temporary_file() {
        let dir = tempfile::tempdir().unwrap();
        let n = 2 * STAGED_AT_ONCE + 3;
        let files: Vec<PrivateFile> = (0..n).map(|i| PrivateFile::new(dir.path().join(format!("f{i}")))).collect();
        let texts: Vec<String> = (0..n).map(|i| format!("text {i}")).collect();
        let all: Vec<(PrivateFile, &[u8])> = files.iter().cloned().zip(texts.iter().map(|t| t.as_bytes())).collect();
        PrivateFile::replace_many(&all).unwrap();
        for (file, text) in files.iter().zip(&texts) {
            assert_eq!(fs::read_to_string(file.path()).unwrap(), *text);
        }
        let entries = || fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(entries(), n, "temporary files left behind");
        // A file of the second batch that cannot be replaced (a directory stands there): the
        // first batch is written, nothing after it, and no temporary file stays.
        let blocked = STAGED_AT_ONCE + 5;
        fs::remove_file(files[blocked].path()).unwrap();
        fs::create_dir(files[blocked].path()).unwrap();
        let again: Vec<(PrivateFile, &[u8])> = files.iter().map(|f| (f.clone(), &b"again"[..])).collect();
        assert!(PrivateFile::replace_many(&again).is_err());
        let written = files.iter().filter(|f| fs::read(f.path()).is_ok_and(|b| b == b"again")).count();
        assert_eq!(written, STAGED_AT_ONCE);
        assert_eq!(entries(), n, "temporary files left behind");
    }

    #[cfg(unix)]
    #[test]
    fn replace_sets_the_mode_exactly_and_create_new_never_overwrites() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let file = PrivateFile::new(dir.path().join("f"));
        file.replace(b"one").unwrap();
        assert_eq!(fs::metadata(file.path()).unwrap().permissions().mode() & 0o7777, 0o600);
        assert_eq!(file.read().unwrap().unwrap().bytes.as_slice(), b"one");
        let err = file.create_new(b"two").unwrap_err();
        assert!(matches!(err, FsError::Exists { .. }), "{err:?}");
        assert_eq!(fs::read(file.path()).unwrap(), b"one");
        assert!(file.leftovers().is_empty());
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("fifo");
        rustix::fs::mknodat(rustix::fs::CWD, &path, rustix::fs::FileType::Fifo, 0o600.into(), 0).unwrap();
        let err = PrivateFile::new(&path).read().err().unwrap();
        assert!(matches!(err, FsError::NotAFile { kind: NotAFile::Other, .. }), "{err:?}");
        let err = PrivateFile::new(&path).create_new(b"x").unwrap_err();
        assert!(matches!(err, FsError::Exists { .. }), "{err:?}");
    }
}
