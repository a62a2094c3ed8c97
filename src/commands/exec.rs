//! `regcred exec` (PRODUCT.md §8): runs COMMAND with private client configs (the vault's
//! [`ExecDir`]) that send every credential lookup to `docker-credential-regcred`, passes
//! signals on, and removes the directory whatever happens to COMMAND. No secret is written:
//! the helper answers from the store (or the variables of `--secret-from-env`) when a
//! client asks.

mod child;

use std::ffi::OsString;
use std::process::Command;

use regcred_core::{Reference, RegistryAddress};

use crate::cli::ExecArgs;
use crate::context::{Context, EnvCredentials};
use crate::exit::{Failure, input_error};
use crate::helper::SELECTION_VAR;
use crate::vault::clients::docker_config_path;
use crate::vault::exec_dir::{ExecDir, absolute};

/// Exit statuses of a shell that cannot run a command.
const NOT_FOUND: u8 = 127;
const NOT_EXECUTABLE: u8 = 126;

pub fn run(args: ExecArgs, ctx: &Context) -> Result<u8, Failure> {
    let Some((program, program_args)) = args.command.split_first() else {
        return Err(input_error!("no command to run").hint("put it after `--`: regcred exec -- docker pull IMAGE"));
    };
    let registries = ctx.store.load()?;
    let environment = ctx.environment(&registries)?;
    let credentials = EnvCredentials::new(&registries, &environment)?;
    let plan = plan(ctx, &args.images, &credentials)?;

    let dir = ExecDir::create(docker_config_path().as_deref(), &plan.hosts)?;
    let mut command = Command::new(program);
    command
        .args(program_args)
        .env("DOCKER_CONFIG", dir.config_dir())
        .env("REGISTRY_AUTH_FILE", dir.auth_file())
        .env("REGCRED_ENV", &environment)
        .env("REGCRED_CONFIG_DIR", absolute(ctx.store.dir()))
        .env("REGCRED_SECRET_STORE", ctx.secret_store.as_str());
    match &plan.selection {
        Some(ids) => command.env(SELECTION_VAR, ids.iter().map(u64::to_string).collect::<Vec<_>>().join(",")),
        None => command.env_remove(SELECTION_VAR),
    };
    if let Some(path) = path_with_helper() {
        command.env("PATH", path);
    }
    let outcome = child::run(command);
    // Removed before regcred exits, whatever COMMAND did; a failure to remove is said.
    if let Err(e) = dir.close() {
        ctx.out.warn(e);
    }
    let program = program.to_string_lossy();
    match outcome {
        Ok(code) => Ok(code),
        Err(child::SpawnError::NotFound) => {
            crate::shell::report(&Failure::operational(format!("{program}: command not found")));
            Ok(NOT_FOUND)
        }
        Err(child::SpawnError::NotExecutable(e)) => {
            crate::shell::report(&Failure::operational(format!("{program}: cannot run it: {e}")));
            Ok(NOT_EXECUTABLE)
        }
        Err(child::SpawnError::Other(e)) => Err(Failure::operational(format!("cannot run {program}: {e}"))),
    }
}

/// Which registries the configs name, and which credentials the helper may answer with.
struct Plan {
    hosts: Vec<RegistryAddress>,
    /// `--image`: one credential id per registry.
    selection: Option<Vec<u64>>,
}

fn plan(ctx: &Context, images: &[String], credentials: &EnvCredentials<'_>) -> Result<Plan, Failure> {
    let mut hosts: Vec<RegistryAddress> = Vec::new();
    if images.is_empty() {
        // A set for the test, not `hosts.contains`: that was quadratic in the environment's
        // size (200 credentials: 20,000 comparisons). The order stays the store's.
        let mut seen = std::collections::HashSet::with_capacity(credentials.scopes.len());
        for scope in &credentials.scopes {
            if seen.insert(scope.address()) {
                hosts.push(scope.address().clone());
            }
        }
        return Ok(Plan { hosts, selection: None });
    }
    let candidates = credentials.candidates();
    let mut chosen: Vec<(RegistryAddress, u64, &str)> = Vec::new();
    for image in images {
        let reference = Reference::parse(image).map_err(|e| input_error!("invalid image reference {image:?}: {e}"))?;
        let Some(id) = regcred_core::select_chosen(&candidates, &reference) else {
            ctx.out.warn(format!("no credential in use for {image}; it is pulled without one"));
            continue;
        };
        let host = reference.registry_address().clone();
        match chosen.iter().find(|(h, _, _)| *h == host) {
            Some((_, other, first)) if *other != id => ctx.out.warn(format!(
                "{image} resolves to credential {id} but {first} to credential {other}, on the same registry \
                 {host}; clients ask per registry, so credential {other} is used for both"
            )),
            Some(_) => {}
            None => chosen.push((host, id, image)),
        }
    }
    hosts.extend(chosen.iter().map(|(h, _, _)| h.clone()));
    Ok(Plan { hosts, selection: Some(chosen.iter().map(|(_, id, _)| *id).collect()) })
}

/// `$PATH` with regcred's own directory appended, when `docker-credential-regcred` is beside
/// regcred but not on `$PATH` (a binary run from its build directory); else `None`.
fn path_with_helper() -> Option<OsString> {
    let name = format!("docker-credential-regcred{}", std::env::consts::EXE_SUFFIX);
    let path = std::env::var_os("PATH").unwrap_or_default();
    if std::env::split_paths(&path).any(|dir| dir.join(&name).is_file()) {
        return None;
    }
    let own_dir = std::env::current_exe().ok()?.parent()?.to_path_buf();
    if !own_dir.join(&name).is_file() {
        return None;
    }
    std::env::join_paths(std::env::split_paths(&path).chain([own_dir])).ok()
}
