//! `regcred export registries-yaml` and `export containerd-hosts`: the environment's
//! registries as k3s/RKE2 and containerd nodes read them. The formats are
//! `crate::kube::nodes`; this file gathers the registries through the vault and writes the
//! files through its `PrivateFile` (atomic, 0644, never through a link).

use std::path::{Path, PathBuf};

use regcred_core::{RegistryAddress, Status};
use zeroize::Zeroizing;

use super::{IDENTITY_TOKEN_USER, emit};
use crate::cli::{ContainerdHostsArgs, RegistriesYamlArgs};
use crate::context::{Context, EnvCredentials};
use crate::exit::{Failure, input_error};
use crate::kube::nodes::{self, Auth, NodeRegistry};
use crate::vault::fs::{FsError, PrivateFile, ensure_public_dir};

pub fn registries_yaml(args: RegistriesYamlArgs, ctx: &Context) -> Result<(), Failure> {
    // Refuse bad targets before anything is read or said.
    if let Some(dir) = &args.ca_dir
        && dir.exists()
        && !dir.is_dir()
    {
        return Err(input_error!("--ca-dir {} is not a directory", dir.display()));
    }
    let registries = gather(ctx, &args.registries, true)?;
    let ca_dir = match &args.ca_dir {
        Some(dir) => {
            // The directory the user named may be a link (as /etc often is); the ones
            // regcred makes under it may not.
            ensure_public_dir(dir, true)?;
            std::path::absolute(dir).map_err(|e| FsError::io("cannot resolve", dir, e))?
        }
        None => PathBuf::from("/etc/rancher/certs"),
    };
    let text = nodes::registries_yaml(&registries, &ca_dir);
    if args.ca_dir.is_some() {
        for registry in &registries {
            let Some(pem) = &registry.ca_pem else { continue };
            let file = nodes::ca_file(&ca_dir, &registry.address);
            let dir = file.parent().map(Path::to_path_buf).unwrap_or_else(|| ca_dir.clone());
            ensure_public_dir(&dir, dir == ca_dir)?;
            write_public(&file, pem.as_bytes())?;
            ctx.out.info(format!("Wrote {}", file.display()));
        }
    } else if registries.iter().any(|r| r.ca_pem.is_some()) {
        ctx.out.info(
            "ca_file points into /etc/rancher/certs; write the certificates there with --ca-dir /etc/rancher/certs",
        );
    }
    emit(ctx, args.output_file.as_deref(), &text, 0o600)
}

pub fn containerd_hosts(args: ContainerdHostsArgs, ctx: &Context) -> Result<(), Failure> {
    if args.dir.exists() && !args.dir.is_dir() {
        return Err(input_error!("{} is not a directory", args.dir.display()));
    }
    let registries = gather(ctx, &args.registries, false)?;
    // Every target is checked before anything is written.
    let mut plans = Vec::with_capacity(registries.len());
    for registry in &registries {
        let dir = args.dir.join(nodes::hosts_dir_name(&registry.address));
        let file = dir.join("hosts.toml");
        // Read as regcred reads its own files: a link, a FIFO or another user's file is
        // refused, not followed.
        match PrivateFile::public(&file).read() {
            Ok(Some(existing))
                if !args.force && !nodes::written_by_regcred(&String::from_utf8_lossy(&existing.bytes)) =>
            {
                return Err(input_error!("{} exists and regcred did not write it", file.display())
                    .hint("move it away, or replace it with --force"));
            }
            // Under a file, the directory cannot be made: said when it is tried.
            Err(FsError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotADirectory => {}
            Err(e) => return Err(e.into()),
            Ok(_) => {}
        }
        if dir.exists() && !dir.is_dir() {
            return Err(input_error!("{} is not a directory", dir.display()));
        }
        plans.push((registry, dir, file));
    }
    ensure_public_dir(&args.dir, true)?;
    for (registry, dir, file) in plans {
        ensure_public_dir(&dir, false)?;
        if let Some(pem) = &registry.ca_pem {
            write_public(&dir.join("ca.crt"), pem.as_bytes())?;
        }
        write_public(&file, nodes::hosts_toml(registry).as_bytes())?;
        ctx.out.info(format!("Wrote {}", file.display()));
    }
    if registries.is_empty() {
        ctx.out.warn("no registry of the environment has a credential or a TLS setting; nothing written");
    }
    Ok(())
}

/// The registries of the environment that have a credential in use or a TLS setting,
/// narrowed by `--registry`, sorted; with `with_auth`, each one's credential (read from
/// its secret store). The only part of these commands that knows the store.
fn gather(ctx: &Context, filters: &[String], with_auth: bool) -> Result<Vec<NodeRegistry>, Failure> {
    let filters = filters
        .iter()
        .map(|r| RegistryAddress::parse(r).map_err(|e| input_error!("{e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let wanted = |address: &str| filters.is_empty() || filters.iter().any(|f| f.as_str() == address);
    let store = ctx.store.load()?;
    let environment = ctx.environment(&store)?;
    let env = EnvCredentials::new(&store, &environment)?;
    let mut registries: Vec<NodeRegistry> = Vec::new();
    let entry = |registries: &mut Vec<NodeRegistry>, address: &str| -> usize {
        if let Some(i) = registries.iter().position(|r| r.address == address) {
            return i;
        }
        registries.push(NodeRegistry { address: address.to_owned(), auth: None, insecure: false, ca_pem: None });
        registries.len() - 1
    };
    for ((c, scope), status) in env.records.iter().zip(&env.scopes).zip(env.statuses()) {
        let address = scope.address().as_str();
        if status != Status::Active || !wanted(address) {
            continue;
        }
        let i = entry(&mut registries, address);
        if !with_auth {
            continue;
        }
        if scope.path().is_some() {
            ctx.out.warn(format!(
                "skipped credential {} ({}): registries.yaml cannot scope a credential to a namespace",
                c.id, c.address
            ));
            continue;
        }
        if c.username == IDENTITY_TOKEN_USER {
            ctx.out.warn(format!(
                "skipped credential {} ({}): an identity token is not a username and password",
                c.id, c.address
            ));
            continue;
        }
        let secret = ctx.secret_of(&store.store_id, c)?;
        registries[i].auth =
            Some(Auth { username: c.username.clone(), password: Zeroizing::new(secret.expose().to_owned()) });
    }
    for tls in store.tls_in(&environment).filter(|t| wanted(&t.address)) {
        let i = entry(&mut registries, &tls.address);
        registries[i].insecure = tls.insecure;
        registries[i].ca_pem = tls.ca_cert.clone();
    }
    for filter in &filters {
        if !registries.iter().any(|r| r.address == filter.as_str()) {
            ctx.out.warn(format!("{filter} has no credential in use and no TLS setting in environment {environment}"));
        }
    }
    registries.sort_by(|a, b| a.address.cmp(&b.address));
    Ok(registries)
}

/// A file the node's daemons read (0644: no secret in it), replaced atomically; a
/// temporary file of a killed earlier write goes first.
fn write_public(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    let file = PrivateFile::public(path);
    file.sweep();
    Ok(file.replace(bytes)?)
}
