//! Running under sudo: root's own store is not the invoking user's, and a command that
//! finds nothing there should say whose store it read and how to read the user's.

use std::path::Path;

use crate::exit::Failure;

/// The user sudo ran regcred for, when regcred runs as root under sudo.
pub fn sudo_user() -> Option<String> {
    let user = std::env::var("SUDO_USER").ok().filter(|u| !u.is_empty() && u != "root")?;
    #[cfg(unix)]
    let root = crate::vault::fs::effective_uid() == 0;
    #[cfg(not(unix))]
    let root = false;
    root.then_some(user)
}

/// A failure for a command that needs the store's settings when it runs as root under
/// sudo and root has no store of its own: it would otherwise read an empty store, write
/// nothing and look like success.
pub fn no_store_of_roots_own(store_file: &Path, what: &str) -> Option<Failure> {
    let user = sudo_user()?;
    if std::fs::symlink_metadata(store_file).is_ok() {
        return None;
    }
    let user = regcred_core::escape(&user);
    Some(
        Failure::operational(format!(
            "running as root under sudo, and root has no regcred store ({} does not exist), so there is {what}",
            store_file.display()
        ))
        .hint(format!(
            "read {user}'s store: `sudo regcred --config-dir ~{user}/.config/regcred …`, or `sudo -E regcred …` to keep {user}'s environment (HOME, REGCRED_CONFIG_DIR)"
        )),
    )
}
