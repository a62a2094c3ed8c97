//! `regcred setup`: point docker's config.json or the containers auth.json at
//! `docker-credential-regcred`, keeping every other key, with a backup and a word on what
//! changed.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use regcred_core::RegistryAddress;

use crate::cli::{SetupArgs, SetupTarget};
use crate::context::{Context, EnvCredentials};
use crate::exit::{Failure, input_error};
use crate::vault::clients::{
    HELPER, backups, docker_config_path, podman_auth_file, read_json, replaced_helpers, undone, write,
    write_with_backup,
};

pub fn run(target: SetupTarget, ctx: &Context) -> Result<(), Failure> {
    match target {
        SetupTarget::Docker(args) if args.undo => {
            let path = args.config.clone().or_else(docker_config_path).ok_or_else(no_home)?;
            undo(ctx, &args, &path, "docker")
        }
        SetupTarget::Podman(args) if args.undo => {
            let (path, _) = podman_file(&args)?;
            undo(ctx, &args, &path, "podman, skopeo and buildah")
        }
        SetupTarget::Docker(args) => {
            let path = args.config.clone().or_else(docker_config_path).ok_or_else(no_home)?;
            let registries = addresses(&args.registries)?;
            environment_note(ctx, "docker")?;
            let (_, whole, scoped) = registry_credentials(ctx)?;
            warn_scoped(ctx, "docker", &whole, &scoped, |address| {
                (registries.is_empty() || registries.contains(address)).then_some(true)
            });
            let mut config = read_json(&path).context("cannot set up docker")?;
            let before = config.clone();
            let mut changes = Vec::new();
            if registries.is_empty() {
                set(&mut config, &[], "credsStore", &mut changes);
            } else {
                for address in &registries {
                    set(&mut config, &["credHelpers"], address.docker_config_key(), &mut changes);
                }
            }
            warn_replaced(ctx, &args, &before, &config, "docker", "docker-config");
            finish(ctx, &args, &path, &config, changes, "docker")
        }
        SetupTarget::Podman(args) => {
            let (path, why) = podman_file(&args)?;
            environment_note(ctx, "podman")?;
            let registries = podman_registries(ctx, &args)?;
            let mut config = read_json(&path).context("cannot set up podman")?;
            let before = config.clone();
            let mut changes = Vec::new();
            for address in &registries {
                set(&mut config, &["credHelpers"], address.as_str(), &mut changes);
            }
            if let Some(why) = why {
                ctx.out.info(format!("podman's auth file is {}: {why} (containers-auth.json(5)).", path.display()));
            }
            warn_replaced(ctx, &args, &before, &config, "podman", "auth-json");
            finish(ctx, &args, &path, &config, changes, "podman, skopeo and buildah")
        }
    }
}

fn no_home() -> Failure {
    Failure::operational("cannot find the home directory").hint("name the file with --config PATH")
}

fn addresses(typed: &[String]) -> Result<Vec<RegistryAddress>, Failure> {
    let mut out: Vec<RegistryAddress> = Vec::new();
    for t in typed {
        let address = RegistryAddress::parse(t).map_err(|e| input_error!("{e}"))?;
        if !out.contains(&address) {
            out.push(address);
        }
    }
    Ok(out)
}

/// Sets `section…[key] = "regcred"`, noting the change.
fn set(config: &mut serde_json::Value, section: &[&str], key: &str, changes: &mut Vec<String>) {
    let mut node = config;
    for part in section {
        if !node.get(*part).is_some_and(serde_json::Value::is_object) {
            node[*part] = serde_json::json!({});
        }
        node = &mut node[*part];
    }
    let before = node.get(key).cloned();
    let shown = if section.is_empty() { key.to_owned() } else { format!("{}[{key:?}]", section.join(".")) };
    match before {
        Some(serde_json::Value::String(old)) if old == HELPER => {}
        Some(old) => changes.push(format!("{shown}: {old} → \"{HELPER}\"")),
        None => changes.push(format!("{shown}: (unset) → \"{HELPER}\"")),
    }
    node[key] = serde_json::Value::String(HELPER.into());
}

/// Prints the changes (data, on stdout); false under `--dry-run`, which writes nothing.
fn print_changes(ctx: &Context, args: &SetupArgs, path: &Path, changes: &[String]) -> Result<bool, Failure> {
    let mut lines = crate::shell::Lines::new();
    changes.iter().for_each(|change| lines.line(change));
    ctx.out.data(lines.as_str())?;
    if args.dry_run {
        ctx.out.info(format!("Dry run: {} was not changed.", path.display()));
    }
    Ok(!args.dry_run)
}

/// A config file's text as docker and podman write it.
fn pretty(config: &serde_json::Value) -> String {
    let mut json = serde_json::to_string_pretty(config).unwrap_or_default();
    json.push('\n');
    json
}

fn finish(
    ctx: &Context,
    args: &SetupArgs,
    path: &Path,
    config: &serde_json::Value,
    changes: Vec<String>,
    who: &str,
) -> Result<(), Failure> {
    if changes.is_empty() {
        ctx.out.info(format!("{} already sends {who} to regcred; nothing to change.", path.display()));
        return Ok(());
    }
    if !print_changes(ctx, args, path, &changes)? {
        return Ok(());
    }
    let json = pretty(config);
    let backup = write_with_backup(path, &json).with_context(|| format!("cannot set up {who}"))?;
    if let Some(backup) = backup {
        ctx.out.info(format!("Backed up the old file to {}.", backup.display()));
    }
    ctx.out.info(format!(
        "Updated {}: {who} will ask docker-credential-regcred (keep it on PATH beside regcred).",
        path.display()
    ));
    Ok(())
}

/// The auth file for podman: `--config`, else where podman itself writes (and why there).
fn podman_file(args: &SetupArgs) -> Result<(PathBuf, Option<&'static str>), Failure> {
    match &args.config {
        Some(path) => Ok((path.clone(), None)),
        None => podman_auth_file().map(|(path, why)| (path, Some(why))).ok_or_else(no_home),
    }
}

/// The registries to send to regcred: those named, else every registry with a registry-wide
/// credential in the environment. podman asks the helper per registry only, so a scoped
/// credential never reaches it through setup: each registry that has one gets a warning
/// naming the ways that honour scopes.
fn podman_registries(ctx: &Context, args: &SetupArgs) -> Result<Vec<RegistryAddress>, Failure> {
    let named = addresses(&args.registries)?;
    let (environment, whole, scoped) = registry_credentials(ctx)?;
    let defaulted = named.is_empty();
    let chosen = if defaulted { whole.clone() } else { named };
    warn_scoped(ctx, "podman", &whole, &scoped, |address| {
        if chosen.contains(address) {
            Some(true)
        } else {
            // Left out by default: say why; left out by the user's --registry: their choice.
            defaulted.then_some(false)
        }
    });
    if chosen.is_empty() {
        return Err(input_error!(
            "environment {environment} has no registry-wide credential, so there is no registry to set up"
        )
        .hint("name registries with --registry ADDRESS (repeatable)"));
    }
    Ok(chosen)
}

/// Registries with scoped credentials, and those scopes.
type Scoped = Vec<(RegistryAddress, Vec<String>)>;

/// The environment, its registries with a registry-wide credential, and its registries with
/// scoped credentials (with those scopes), in the order first added.
fn registry_credentials(ctx: &Context) -> Result<(String, Vec<RegistryAddress>, Scoped), Failure> {
    let registries = ctx.store.load()?;
    let environment = ctx.environment(&registries)?;
    let credentials = EnvCredentials::new(&registries, &environment)?;
    let mut whole: Vec<RegistryAddress> = Vec::new();
    let mut scoped: Scoped = Vec::new();
    for scope in &credentials.scopes {
        let address = scope.address();
        if scope.path().is_none() {
            if !whole.contains(address) {
                whole.push(address.clone());
            }
        } else {
            let text = scope.to_string();
            match scoped.iter_mut().find(|(a, _)| a == address) {
                Some((_, scopes)) if !scopes.contains(&text) => scopes.push(text),
                Some(_) => {}
                None => scoped.push((address.clone(), vec![text])),
            }
        }
    }
    Ok((environment, whole, scoped))
}

/// docker and podman ask the helper per registry only, so a scoped credential never
/// reaches them through setup: each registry that has one gets a warning naming the ways
/// that honour scopes. `set_up` says whether a registry is sent to regcred (`Some(true)`),
/// left out and worth a word (`Some(false)`), or left out by the user's choice (`None`).
fn warn_scoped(
    ctx: &Context,
    who: &str,
    whole: &[RegistryAddress],
    scoped: &Scoped,
    set_up: impl Fn(&RegistryAddress) -> Option<bool>,
) {
    let mut warned = false;
    for (address, scopes) in scoped {
        let what = match set_up(address) {
            None => continue,
            Some(false) => "so it is not set up: it has no registry-wide credential",
            Some(true) if whole.contains(address) => {
                "so it gets the registry-wide credential there, never a scoped one"
            }
            Some(true) => "so it gets no credential there",
        };
        warned = true;
        ctx.out.warn(format!(
            "{address} has scoped credentials ({}): {who} asks docker-credential-regcred per registry only, {what}",
            scopes.join(", ")
        ));
    }
    if warned {
        ctx.out.info(format!(
            "hint: for scoped credentials use `regcred export auth-json --output-file FILE` (podman --authfile FILE) \
             or `regcred exec --image IMAGE -- {who} …`"
        ));
    }
}

/// `-e`/`REGCRED_ENV` is not something setup can write into docker's or podman's file: the
/// helper reads `REGCRED_ENV` where the client runs it, at pull time. Say so rather than
/// silently ignoring it.
fn environment_note(ctx: &Context, who: &str) -> Result<(), Failure> {
    if let Some(env) = ctx.env_override() {
        ctx.environment(&ctx.store.load()?)?;
        let env = regcred_core::escape(env);
        ctx.out.warn(format!(
            "no environment is written into {who}'s file: when {who} asks docker-credential-regcred, it answers from \
             REGCRED_ENV in {who}'s environment at pull time, else from the store's current environment"
        ));
        ctx.out.info(format!(
            "hint: `regcred env use {env}` makes {env} the current environment; or set REGCRED_ENV={env} where {who} runs"
        ));
    }
    Ok(())
}

/// Warns for each other credential helper a change replaces: what it keeps is not in
/// regcred, and the client stops asking it.
fn warn_replaced(
    ctx: &Context,
    args: &SetupArgs,
    before: &serde_json::Value,
    after: &serde_json::Value,
    who: &str,
    import_kind: &str,
) {
    let replaced = replaced_helpers(before, after);
    for r in &replaced {
        ctx.out.warn(format!(
            "{} was {:?}: {who} will stop asking docker-credential-{} for those registries, and the credentials it keeps \
             are not in regcred",
            r.key,
            r.helper,
            regcred_core::escape(&r.helper)
        ));
    }
    if replaced.is_empty() {
        return;
    }
    let target = if who == "docker" { "docker" } else { "podman" };
    ctx.out.info(if args.dry_run {
        format!("hint: bring them into regcred first: `regcred import {import_kind}`")
    } else {
        format!(
            "hint: bring them into regcred with `regcred import {import_kind} BACKUP` (the backup named below); \
             `regcred setup {target} --undo` puts the old entries back"
        )
    });
}

/// `setup --undo`: each entry naming regcred goes back to what the newest backup that does
/// not name regcred there had, or is removed; the rest of the file stays as it is now.
fn undo(ctx: &Context, args: &SetupArgs, path: &Path, who: &str) -> Result<(), Failure> {
    if std::fs::symlink_metadata(path).is_err_and(|e| e.kind() == std::io::ErrorKind::NotFound) {
        ctx.out.info(format!("{} does not exist; nothing to undo.", path.display()));
        return Ok(());
    }
    let current = read_json(path)?;
    let saved = backups(path).iter().map(|b| read_json(b)).collect::<Result<Vec<_>, _>>()?;
    let (restored, changes) = undone(&current, &saved);
    if changes.is_empty() {
        ctx.out.info(format!("{} does not send {who} to regcred; nothing to undo.", path.display()));
        return Ok(());
    }
    if !print_changes(ctx, args, path, &changes)? {
        return Ok(());
    }
    write(path, &pretty(&restored))?;
    ctx.out.info(format!("Updated {}: {who} no longer asks docker-credential-regcred.", path.display()));
    Ok(())
}
