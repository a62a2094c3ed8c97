//! `regcred doctor`: the store parses, permissions are tight, the secret stores answer, and
//! metadata and secrets agree. `--fix` repairs what it safely can.

use std::path::Path;

use crate::cli::DoctorArgs;
use crate::commands::describe;
use crate::context::Context;
use crate::exit::Failure;
use crate::secrets::{SecretKey, SecretStoreKind};
use crate::vault::fs::{ModeCheck, check_mode};

mod view;
use view::Finding;

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
        mode(&mut report, ctx.store.dir(), 0o700, true, args.fix);
        for file in ctx.store.private_files() {
            mode(&mut report, &file, 0o600, false, args.fix);
        }
    }

    // Holding the lock keeps other regcred processes from changing what is being compared
    // (shared when only looking); taking it exclusively also removes leftover temporary
    // files. With --fix, the transaction saves what doctor removed, under that lock.
    let mut tx = None;
    let mut _shared = None;
    let loaded = if args.fix {
        ctx.store.transaction().map(|t| {
            let registries = (*t).clone();
            tx = Some(t);
            registries
        })
    } else {
        _shared = ctx.store.lock_shared()?;
        ctx.store.load()
    };
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
            let failure = Failure::from(error);
            report(false, "store file", failure.message.clone());
            view::print(&ctx.out, &findings, ctx.out.format(args.output))?;
            return Err(failure);
        }
    };

    let mut remove_ids = Vec::new();
    for kind in [SecretStoreKind::Keyring, SecretStoreKind::File] {
        let uses = registries.credentials.iter().filter(|c| c.secret_store == kind).count();
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
        for credential in registries.credentials.iter().filter(|c| c.secret_store == kind) {
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
        for id in stored
            .into_iter()
            .filter(|id| !registries.credentials.iter().any(|c| c.id == *id && c.secret_store == kind))
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

    // Pinned and CA certificates that expired or expire within 30 days, in every environment.
    for finding in crate::commands::tls::pin_findings(&registries.tls) {
        report(false, "tls certificate", finding.to_string());
    }

    if let Some(mut tx) = tx
        && !remove_ids.is_empty()
    {
        tx.credentials.retain(|c| !remove_ids.contains(&c.id));
        tx.commit()?;
    }
    view::print(&ctx.out, &findings, ctx.out.format(args.output))?;
    let problems = findings.iter().filter(|f| !f.ok).count();
    if problems > 0 {
        return Err(Failure::operational(format!("{problems} problem(s) found"))
            .maybe_hint((!args.fix).then(|| "run `regcred doctor --fix` to repair what can be repaired".to_owned())));
    }
    Ok(())
}

/// Reports (and with `fix`, repairs) the mode of one file or directory of the store.
fn mode(report: &mut impl FnMut(bool, &str, String), path: &Path, wanted: u32, dir: bool, fix: bool) {
    let shown = path.display();
    let check = "permissions";
    match check_mode(path, wanted, dir, fix) {
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
