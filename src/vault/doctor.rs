//! `doctor`'s checks: the store parses, permissions are tight, the secret stores answer,
//! and metadata and secrets agree; with `fix`, what can safely be repaired is. The command
//! only renders what this finds.

use std::path::Path;

use super::fs::{ModeCheck, check_mode};
use super::secrets::{SecretKey, SecretStoreKind};
use super::store::TlsSetting;
use super::{Vault, Warning};

/// One thing doctor checked.
pub struct Finding {
    pub ok: bool,
    pub check: String,
    pub detail: String,
}

/// What doctor found, and the error that stopped it early (a store that does not load).
pub struct Diagnosis {
    pub findings: Vec<Finding>,
    pub failure: Option<super::Error>,
    /// The TLS settings of the store as loaded, for the checks of the layers above (the
    /// expiry of pinned certificates is the registry's business, not the vault's).
    pub tls: Vec<TlsSetting>,
}

impl Vault {
    /// Checks the store (and with `fix` repairs it), holding the lock so that no write is
    /// half done while metadata and secrets are compared.
    pub fn doctor(&self, fix: bool) -> Diagnosis {
        let mut findings = Vec::new();
        let mut report =
            |ok: bool, check: &str, detail: String| findings.push(Finding { ok, check: check.to_owned(), detail });
        let store_file = self.store.file();

        if !self.store.dir().exists() {
            report(
                true,
                "store",
                format!("{} does not exist yet; it is created by the first change", self.store.dir().display()),
            );
        } else {
            mode(&mut report, self.store.dir(), 0o700, true, fix);
            for file in self.store.private_files() {
                mode(&mut report, &file, 0o600, false, fix);
            }
            // One file per credential: only those not 0600 are worth a line each.
            let secrets_dir = self.store.secrets_dir();
            mode(&mut report, &secrets_dir, 0o700, true, fix);
            if secrets_dir.is_dir() && !secrets_dir.is_symlink() {
                let mut right = 0;
                for entry in std::fs::read_dir(&secrets_dir).into_iter().flatten().flatten() {
                    let path = entry.path();
                    match check_mode(&path, 0o600, false, fix) {
                        Some(ModeCheck::Right) => right += 1,
                        found => say_mode(&mut report, &path, 0o600, found),
                    }
                }
                report(true, "permissions", format!("{right} file(s) in {} are 0600", secrets_dir.display()));
            }
        }

        // Holding the lock keeps other regcred processes from changing what is being compared
        // (shared when only looking); taking it exclusively also removes leftover temporary
        // files. With --fix, the transaction saves what doctor removed, under that lock.
        let mut tx = None;
        let mut _shared = None;
        let loaded = if fix {
            self.store.transaction().map(|t| {
                let registries = (*t).clone();
                tx = Some(t);
                registries
            })
        } else {
            _shared = match self.store.lock_shared() {
                Ok(lock) => lock,
                Err(error) => return Diagnosis { findings, failure: Some(error.into()), tls: Vec::new() },
            };
            self.store.load()
        };
        for leftover in self.store.leftovers() {
            report(
                false,
                "interrupted write",
                format!(
                    "{} was left by a regcred that was killed mid-write; `regcred doctor --fix` removes it",
                    leftover.display()
                ),
            );
        }
        let registries = match loaded {
            Ok(registries) => {
                report(
                    true,
                    "store file",
                    format!("{} parses ({} credentials)", store_file.display(), registries.credentials.len()),
                );
                registries
            }
            Err(error) => {
                report(false, "store file", error.to_string());
                return Diagnosis { findings, failure: Some(error.into()), tls: Vec::new() };
            }
        };

        for credential in &registries.credentials {
            if let Some(var) = &credential.secret_env {
                let who = super::describe(credential);
                if super::secret_env::is_set(var) {
                    report(
                        true,
                        "secret variable",
                        format!("credential {who} reads its secret from {var}, which is set"),
                    );
                    continue;
                }
                // A warning, not a problem: the variable may well be set only in CI.
                let warning = Warning::SecretVariableUnset { credential: who, var: var.clone() };
                report(true, "secret variable", warning.to_string());
                self.store.warnings().push(warning);
            }
        }

        let mut remove_ids = Vec::new();
        for kind in SecretStoreKind::ALL {
            let uses = registries.credentials.iter().filter(|c| c.keeps_secret_in(kind)).count();
            if uses == 0 && kind != self.secret_store {
                continue;
            }
            let secrets = self.secrets(kind);
            let check = format!("secret store {kind}");
            if let Err(e) = secrets.check() {
                let hint = e.hint().map(|h| format!(" ({h})")).unwrap_or_default();
                report(false, &check, format!("{e}{hint}"));
                continue;
            }
            let stored = match secrets.ids(&registries.store_id) {
                Ok(ids) => ids,
                Err(e) => {
                    report(false, &check, e.to_string());
                    continue;
                }
            };
            report(
                true,
                &check,
                format!(
                    "{} answers; {} secret(s) of this store there, {uses} credential(s) expect one",
                    secrets.location(),
                    stored.len()
                ),
            );
            for credential in registries.credentials.iter().filter(|c| c.keeps_secret_in(kind)) {
                if !stored.contains(&credential.id) {
                    let what =
                        format!("credential {} has no secret in {}", super::describe(credential), secrets.location());
                    if fix {
                        remove_ids.push(credential.id);
                        report(true, "metadata without secret", format!("{what}: removed its metadata; add it again"));
                    } else {
                        report(
                            false,
                            "metadata without secret",
                            format!("{what}; `regcred doctor --fix` removes it, then add it again"),
                        );
                    }
                }
            }
            for id in stored
                .into_iter()
                .filter(|id| !registries.credentials.iter().any(|c| c.id == *id && c.keeps_secret_in(kind)))
            {
                let what =
                    format!("a secret for credential {id} is in {}, but no such credential exists", secrets.location());
                if !fix {
                    report(false, "secret without metadata", format!("{what}; `regcred doctor --fix` removes it"));
                    continue;
                }
                let key = SecretKey { store_id: &registries.store_id, id, environment: "", address: "", username: "" };
                match secrets.delete(&key) {
                    Ok(_) => report(true, "secret without metadata", format!("{what}: removed")),
                    Err(e) => report(false, "secret without metadata", format!("{what}: could not remove it: {e}")),
                }
            }
        }

        if let Some(mut tx) = tx
            && !remove_ids.is_empty()
        {
            tx.credentials.retain(|c| !remove_ids.contains(&c.id));
            if let Err(error) = tx.commit() {
                return Diagnosis { findings, failure: Some(error.into()), tls: Vec::new() };
            }
        }
        Diagnosis { findings, failure: None, tls: registries.tls }
    }
}

/// Reports (and with `fix`, repairs) the mode of one file or directory of the store.
fn mode(report: &mut impl FnMut(bool, &str, String), path: &Path, wanted: u32, dir: bool, fix: bool) {
    say_mode(report, path, wanted, check_mode(path, wanted, dir, fix));
}

/// Reports what [`check_mode`] found.
fn say_mode(report: &mut impl FnMut(bool, &str, String), path: &Path, wanted: u32, found: Option<ModeCheck>) {
    let shown = path.display();
    let check = "permissions";
    match found {
        None => {}
        Some(ModeCheck::Right) => report(true, check, format!("{shown} is {wanted:04o}")),
        Some(ModeCheck::Wrong { mode }) => {
            report(false, check, format!("{shown} is {mode:04o}, should be {wanted:04o}"))
        }
        Some(ModeCheck::Fixed { was }) => report(true, check, format!("{shown} was {was:04o}, now {wanted:04o}")),
        Some(ModeCheck::Unchangeable { mode, why }) => {
            report(false, check, format!("{shown} is {mode:04o}, cannot change it: {why}"))
        }
        Some(ModeCheck::Refused { why }) => report(false, check, format!("{shown} {why}")),
    }
}
