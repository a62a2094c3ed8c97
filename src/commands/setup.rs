//! `regcred setup`: point docker's config.json or the containers auth.json at
//! `docker-credential-regcred`, keeping every other key, with a backup and a word on what
//! changed.

use std::path::Path;

use anyhow::Context as _;
use regcred_core::RegistryAddress;

use crate::cli::{SetupArgs, SetupTarget};
use crate::context::{Context, EnvCredentials};
use crate::exit::{Failure, input_error};
use crate::vault::clients::{auth_json_path, docker_config_path, read_json, write_with_backup};

/// The name docker and containers/image turn into `docker-credential-regcred`.
const HELPER: &str = "regcred";

pub fn run(target: SetupTarget, ctx: &Context) -> Result<(), Failure> {
    match target {
        SetupTarget::Docker(args) => {
            let path = args.config.clone().or_else(docker_config_path).ok_or_else(no_home)?;
            let registries = addresses(&args.registries)?;
            let mut config = read_json(&path).context("cannot set up docker")?;
            let mut changes = Vec::new();
            if registries.is_empty() {
                set(&mut config, &[], "credsStore", &mut changes);
            } else {
                for address in &registries {
                    set(&mut config, &["credHelpers"], address.docker_config_key(), &mut changes);
                }
            }
            finish(ctx, &args, &path, &config, changes, "docker")
        }
        SetupTarget::Podman(args) => {
            let path = args.config.clone().or_else(auth_json_path).ok_or_else(no_home)?;
            let mut registries = addresses(&args.registries)?;
            if registries.is_empty() {
                registries = environment_registries(ctx)?;
            }
            if registries.is_empty() {
                return Err(input_error!("the environment has no credentials, so there is no registry to set up")
                    .hint("name them with --registry ADDRESS (repeatable)"));
            }
            let mut config = read_json(&path).context("cannot set up podman")?;
            let mut changes = Vec::new();
            for address in &registries {
                set(&mut config, &["credHelpers"], address.as_str(), &mut changes);
            }
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

/// Every registry the environment has a credential for, in the order first added.
fn environment_registries(ctx: &Context) -> Result<Vec<RegistryAddress>, Failure> {
    let registries = ctx.store.load()?;
    let environment = ctx.environment(&registries)?;
    let credentials = EnvCredentials::new(&registries, &environment)?;
    let mut out: Vec<RegistryAddress> = Vec::new();
    for scope in &credentials.scopes {
        let address = scope.address().clone();
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
    let mut lines = crate::shell::Lines::new();
    changes.iter().for_each(|change| lines.line(change));
    ctx.out.data(lines.as_str())?;
    if args.dry_run {
        ctx.out.info(format!("Dry run: {} was not changed.", path.display()));
        return Ok(());
    }
    let mut json = serde_json::to_string_pretty(config).unwrap_or_default();
    json.push('\n');
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
