//! `regcred doctor`: the store parses, permissions are tight, the secret stores answer, and
//! metadata and secrets agree. `--fix` repairs what it safely can.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::cli::DoctorArgs;
use crate::commands::describe;
use crate::context::Context;
use crate::exit::Failure;
use crate::output::Finding;
use crate::secrets::{SecretKey, SecretStoreKind};

pub fn run(args: DoctorArgs, ctx: &Context) -> Result<(), Failure> {
    let mut findings = Vec::new();
    let mut report =
        |ok: bool, check: &str, detail: String| findings.push(Finding { ok, check: check.to_owned(), detail });
    let store_file = ctx.store.file();

    if !ctx.store.dir().exists() {
        report(
            true,
            "store",
            format!("{} does not exist yet; it is created by the first change", ctx.store.dir().display()),
        );
    } else {
        check_mode(&mut report, ctx.store.dir(), 0o700, args.fix);
        if store_file.exists() {
            check_mode(&mut report, &store_file, 0o600, args.fix);
        }
        let secrets_file = ctx.store.dir().join("secrets.toml");
        if secrets_file.exists() {
            check_mode(&mut report, &secrets_file, 0o600, args.fix);
        }
    }

    // Holding the lock keeps other regcred processes from changing what is being compared
    // (shared when only looking); taking it exclusively also removes leftover temporary files.
    let lock = if args.fix { Some(ctx.store.lock()?) } else { None };
    let _shared = if args.fix { None } else { ctx.store.lock_shared()? };
    for leftover in ctx.store.leftovers() {
        report(
            false,
            "interrupted write",
            format!(
                "{} was left by a regcred that was killed mid-write; `regcred doctor --fix` removes it",
                leftover.display()
            ),
        );
    }
    let mut registries = match ctx.store.load() {
        Ok(registries) => {
            report(
                true,
                "store file",
                format!("{} parses ({} credentials)", store_file.display(), registries.credentials.len()),
            );
            registries
        }
        Err(failure) => {
            report(false, "store file", failure.message.clone());
            ctx.out.findings(&findings, ctx.out.format(args.output));
            return Err(failure);
        }
    };

    for credential in &registries.credentials {
        if let Some(var) = &credential.secret_env {
            let who = describe(credential);
            if crate::secret_env::is_set(var) {
                report(true, "secret variable", format!("credential {who} reads its secret from {var}, which is set"));
                continue;
            }
            let detail = format!(
                "credential {who} reads its secret from {var}, which is not set here; set it wherever the credential is used"
            );
            // A warning, not a problem: the variable may well be set only in CI.
            ctx.out.warn(detail.clone());
            report(true, "secret variable", detail);
        }
    }

    let mut remove_ids = Vec::new();
    // A credential with `--secret-from-env` expects no secret in any store.
    let stored_in =
        |c: &crate::store::Credential, kind: SecretStoreKind| c.secret_store == kind && c.secret_env.is_none();
    for kind in SecretStoreKind::ALL {
        let uses = registries.credentials.iter().filter(|c| stored_in(c, kind)).count();
        if uses == 0 && kind != ctx.secret_store {
            continue;
        }
        let secrets = ctx.secrets(kind);
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
        for credential in registries.credentials.iter().filter(|c| stored_in(c, kind)) {
            if !stored.contains(&credential.id) {
                let what = format!("credential {} has no secret in {}", describe(credential), secrets.location());
                if args.fix {
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
        for id in
            stored.into_iter().filter(|id| !registries.credentials.iter().any(|c| c.id == *id && stored_in(c, kind)))
        {
            let what =
                format!("a secret for credential {id} is in {}, but no such credential exists", secrets.location());
            if !args.fix {
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

    if let Some(lock) = &lock
        && !remove_ids.is_empty()
    {
        registries.credentials.retain(|c| !remove_ids.contains(&c.id));
        ctx.store.save(&registries, lock)?;
    }
    drop(lock);
    ctx.out.findings(&findings, ctx.out.format(args.output));
    let problems = findings.iter().filter(|f| !f.ok).count();
    if problems > 0 {
        return Err(Failure::operational(format!("{problems} problem(s) found"))
            .maybe_hint((!args.fix).then(|| "run `regcred doctor --fix` to repair what can be repaired".to_owned())));
    }
    Ok(())
}

fn check_mode(report: &mut impl FnMut(bool, &str, String), path: &Path, wanted: u32, fix: bool) {
    let Ok(meta) = fs::metadata(path) else { return };
    let mode = meta.permissions().mode() & 0o777;
    let check = "permissions";
    if mode == wanted {
        report(true, check, format!("{} is {wanted:04o}", path.display()));
    } else if fix {
        match fs::set_permissions(path, fs::Permissions::from_mode(wanted)) {
            Ok(()) => report(true, check, format!("{} was {mode:04o}, now {wanted:04o}", path.display())),
            Err(e) => report(false, check, format!("{} is {mode:04o}, cannot change it: {e}", path.display())),
        }
    } else {
        report(false, check, format!("{} is {mode:04o}, should be {wanted:04o}", path.display()));
    }
}
