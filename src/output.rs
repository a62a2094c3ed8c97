//! Transitional: the one warning `store` and `secrets` still print themselves. It goes when
//! they return their warnings as data for the command to print (`Shell::warn_all`).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

/// `-q` of this process, for the warnings of code that has no `Shell`.
static QUIET: AtomicBool = AtomicBool::new(false);

/// Called by `Shell::new`.
pub(crate) fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Warns that a file holding credentials can be read by other users: once per file and
/// process, however often it is read.
pub fn warn_readable_by_others(path: &Path, mode: u32) {
    static WARNED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    if QUIET.load(Ordering::Relaxed) {
        return;
    }
    let mut warned = WARNED.lock().unwrap_or_else(PoisonError::into_inner);
    if warned.iter().any(|p| p == path) {
        return;
    }
    warned.push(path.to_owned());
    let shown = path.display().to_string();
    let shown = regcred_core::escape(&shown);
    eprintln!("warning: {shown} is readable by other users (mode {mode:04o}); make it private with: chmod 600 {shown}");
}
