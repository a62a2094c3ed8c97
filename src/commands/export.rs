//! `regcred export`: the credentials in use, with their secrets, in the formats other tools
//! read: docker's config.json, the containers auth.json, a Kubernetes Secret; and the
//! host's insecure registries for dockerd (daemon.json) and the containers tools
//! (registries.conf).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use regcred_core::{RegistryAddress, Scope, Status, validate_name};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::cli::{ExportArgs, ExportFormat, HostConfigArgs, ManifestFormat};
use crate::context::{Context, EnvCredentials};
use crate::exit::{Failure, input_error};
use crate::secrets::Secret;
use crate::store::Credential;
use crate::vault::fs::{FsError, PrivateFile};

mod nodes;

/// docker's and kubectl's username for identity (refresh) tokens.
const IDENTITY_TOKEN_USER: &str = "<token>";

pub fn run(format: ExportFormat, ctx: &Context) -> Result<(), Failure> {
    refuse_to_replace(&format)?;
    match format {
        ExportFormat::DockerConfig(args) => {
            let credentials = in_use(ctx, &args)?;
            let mut auths = serde_json::Map::new();
            for (c, scope, secret) in &credentials {
                if scope.path().is_some() {
                    ctx.out.warn(format!(
                        "skipped credential {} ({}): docker's config.json cannot scope a credential to a namespace; use auth-json or k8s-secret",
                        c.id, c.address
                    ));
                    continue;
                }
                auths.insert(scope.address().docker_config_key().to_owned(), docker_entry(c, secret, true));
            }
            emit(ctx, args.output_file.as_deref(), &pretty(&serde_json::json!({ "auths": auths })), 0o600)
        }
        ExportFormat::AuthJson(args) => {
            let credentials = in_use(ctx, &args)?;
            let mut auths = serde_json::Map::new();
            for (c, scope, secret) in &credentials {
                let entry = if c.username == IDENTITY_TOKEN_USER {
                    serde_json::json!({ "identitytoken": secret.expose() })
                } else {
                    serde_json::json!({ "auth": basic(&c.username, secret) })
                };
                auths.insert(scope.to_string(), entry);
            }
            emit(ctx, args.output_file.as_deref(), &pretty(&serde_json::json!({ "auths": auths })), 0o600)
        }
        ExportFormat::K8sSecret(args) => {
            check_secret_name(&args.name)?;
            if let Some(namespace) = &args.namespace {
                validate_name("namespace", namespace).map_err(|e| input_error!("{e}"))?;
            }
            let credentials = in_use(ctx, &args.export)?;
            let text = k8s_secret(&args.name, args.namespace.as_deref(), &credentials, args.output);
            emit(ctx, args.export.output_file.as_deref(), &text, 0o600)
        }
        ExportFormat::DockerDaemon(args) => {
            let addresses = insecure_registries(ctx, &args.target)?;
            let mut daemon = match &args.merge {
                Some(path) => read_daemon_json(path)?,
                None => serde_json::Map::new(),
            };
            let list = daemon.entry("insecure-registries").or_insert_with(|| serde_json::json!([]));
            let Some(list) = list.as_array_mut() else {
                return Err(input_error!("\"insecure-registries\" in the file to merge is not a list"));
            };
            for address in addresses {
                if !list.iter().any(|v| v.as_str() == Some(&address)) {
                    list.push(address.into());
                }
            }
            emit(ctx, args.target.output_file.as_deref(), &pretty(&serde_json::Value::Object(daemon)), 0o644)
        }
        ExportFormat::RegistriesYaml(args) => nodes::registries_yaml(args, ctx),
        ExportFormat::ContainerdHosts(args) => nodes::containerd_hosts(args, ctx),
        ExportFormat::RegistriesConf(args) => {
            #[derive(Serialize)]
            struct Entry {
                location: String,
                insecure: bool,
            }
            #[derive(Serialize)]
            struct Conf {
                registry: Vec<Entry>,
            }
            let addresses = insecure_registries(ctx, &args)?;
            let conf =
                Conf { registry: addresses.into_iter().map(|location| Entry { location, insecure: true }).collect() };
            let body = toml::to_string(&conf)
                .map_err(|e| Failure::operational(format!("cannot write registries.conf entries: {e}")))?;
            let text = format!(
                "# containers-registries.conf(5) entries from `regcred export registries-conf`: the registries\n\
                 # marked insecure with `regcred tls set ADDRESS --insecure`. A drop-in for registries.conf.d/.\n\n{body}"
            );
            emit(ctx, args.output_file.as_deref(), &text, 0o644)
        }
    }
}

/// The registries marked insecure in the environment, narrowed by `--registry`, sorted.
fn insecure_registries(ctx: &Context, args: &HostConfigArgs) -> Result<Vec<String>, Failure> {
    let filters = args
        .registries
        .iter()
        .map(|r| RegistryAddress::parse(r).map_err(|e| input_error!("{e}")))
        .collect::<Result<Vec<_>, _>>()?;
    if let Some(failure) = crate::sudo::no_store_of_roots_own(&ctx.store.file(), "no insecure registry to export") {
        return Err(failure);
    }
    let registries = ctx.store.load()?;
    let environment = ctx.environment(&registries)?;
    let mut addresses: Vec<String> = registries
        .tls_in(&environment)
        .filter(|t| t.insecure)
        .filter(|t| filters.is_empty() || filters.iter().any(|f| f.as_str() == t.address))
        .map(|t| t.address.clone())
        .collect();
    addresses.sort();
    for filter in &filters {
        if !addresses.iter().any(|a| a == filter.as_str()) {
            ctx.out.warn(format!("{filter} is not marked insecure in environment {environment}"));
        }
    }
    if addresses.is_empty() && filters.is_empty() {
        ctx.out.warn(format!(
            "no registry is marked insecure in environment {environment} (regcred tls set ADDRESS --insecure)"
        ));
    }
    Ok(addresses)
}

/// An existing daemon.json as a JSON object; a missing file is an empty one.
fn read_daemon_json(path: &std::path::Path) -> Result<serde_json::Map<String, serde_json::Value>, Failure> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(serde_json::Map::new()),
        Err(e) => return Err(FsError::io("cannot read", path, e).into()),
    };
    if text.trim().is_empty() {
        return Ok(serde_json::Map::new());
    }
    match serde_json::from_str(&text) {
        Ok(serde_json::Value::Object(map)) => Ok(map),
        Ok(_) => Err(input_error!("{} is not a JSON object", path.display())),
        Err(e) => Err(input_error!("cannot parse {}: {e}", path.display())),
    }
}

/// The credentials `resolve` would hand out (active and not overridden), narrowed by
/// `--registry`, with their secrets.
fn in_use(ctx: &Context, args: &ExportArgs) -> Result<Vec<(Credential, Scope, Secret)>, Failure> {
    let filters = args
        .registries
        .iter()
        .map(|r| Scope::parse(r).map_err(|e| input_error!("{e}")))
        .collect::<Result<Vec<_>, _>>()?;
    let registries = ctx.store.load()?;
    let environment = ctx.environment(&registries)?;
    let env_credentials = EnvCredentials::new(&registries, &environment)?;
    let statuses = env_credentials.statuses();
    let mut chosen = Vec::new();
    for ((c, scope), status) in env_credentials.records.iter().zip(&env_credentials.scopes).zip(statuses) {
        let wanted = filters.is_empty()
            || filters.iter().any(|f| if f.path().is_some() { f == scope } else { f.address() == scope.address() });
        if status == Status::Active && wanted {
            chosen.push(((*c).clone(), scope.clone()));
        }
    }
    for filter in &filters {
        if !chosen.iter().any(|(_, scope)| scope.address() == filter.address()) {
            ctx.out.warn(format!("no credential in use for {filter} in environment {environment}"));
        }
    }
    // One store opened and each secret read once, for all the credentials exported.
    let mut cache = ctx.secret_cache(&registries.store_id);
    chosen
        .into_iter()
        .map(|(c, scope)| {
            let secret = cache.take(&c)?;
            Ok((c, scope, secret))
        })
        .collect()
}

/// The kubernetes.io/dockerconfigjson Secret `kubectl create secret docker-registry NAME
/// [-n NAMESPACE] --dry-run=client -o yaml|json` makes for these credentials, byte for byte.
pub(crate) fn k8s_secret(
    name: &str,
    namespace: Option<&str>,
    credentials: &[(Credential, Scope, Secret)],
    format: ManifestFormat,
) -> Zeroizing<String> {
    let mut auths = serde_json::Map::new();
    for (c, scope, secret) in credentials {
        let key =
            if scope.path().is_some() { scope.to_string() } else { scope.address().docker_config_key().to_owned() };
        auths.insert(key, docker_entry(c, secret, false));
    }
    // kubectl writes the config compactly, in this field order, and base64s it.
    let config = Zeroizing::new(serde_json::json!({ "auths": auths }).to_string());
    let data = Zeroizing::new(BASE64.encode(config.as_bytes()));
    match format {
        ManifestFormat::Yaml => secret_yaml(name, namespace, &data),
        ManifestFormat::Json => secret_json(name, namespace, &data),
    }
}

/// One `auths` entry as docker and kubectl write it.
fn docker_entry(c: &Credential, secret: &Secret, identity_tokens: bool) -> serde_json::Value {
    if identity_tokens && c.username == IDENTITY_TOKEN_USER {
        return serde_json::json!({ "identitytoken": secret.expose() });
    }
    let mut entry = serde_json::Map::new();
    entry.insert("username".into(), c.username.clone().into());
    entry.insert("password".into(), secret.expose().into());
    if let Some(email) = &c.email {
        entry.insert("email".into(), email.clone().into());
    }
    entry.insert("auth".into(), basic(&c.username, secret).into());
    serde_json::Value::Object(entry)
}

fn basic(username: &str, secret: &Secret) -> String {
    let pair = Zeroizing::new(format!("{username}:{}", secret.expose()));
    BASE64.encode(pair.as_bytes())
}

fn pretty(value: &serde_json::Value) -> Zeroizing<String> {
    let mut text = serde_json::to_string_pretty(value).unwrap_or_default();
    text.push('\n');
    Zeroizing::new(text)
}

/// Kubernetes object names: DNS subdomains, at most 253 characters.
pub(crate) fn check_secret_name(name: &str) -> Result<(), Failure> {
    let bad = || {
        input_error!(
            "invalid Secret name {name:?}: use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit (at most 253 characters)"
        )
    };
    if name.is_empty() || name.len() > 253 {
        return Err(bad());
    }
    name.split('.').try_for_each(|label| validate_name("Secret name", label).map_err(|_| bad()))
}

/// What `kubectl create secret docker-registry NAME --dry-run=client -o yaml` prints.
fn secret_yaml(name: &str, namespace: Option<&str>, data: &str) -> Zeroizing<String> {
    let namespace = namespace.map(|ns| format!("  namespace: {ns}\n")).unwrap_or_default();
    Zeroizing::new(format!(
        "apiVersion: v1\ndata:\n  .dockerconfigjson: {data}\nkind: Secret\nmetadata:\n  creationTimestamp: null\n  name: {name}\n{namespace}type: kubernetes.io/dockerconfigjson\n"
    ))
}

/// What `kubectl create secret docker-registry NAME --dry-run=client -o json` prints.
fn secret_json(name: &str, namespace: Option<&str>, data: &str) -> Zeroizing<String> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Metadata<'a> {
        name: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        namespace: Option<&'a str>,
        creation_timestamp: Option<()>,
    }
    #[derive(Serialize)]
    struct Data<'a> {
        #[serde(rename = ".dockerconfigjson")]
        config: &'a str,
    }
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct SecretObject<'a> {
        kind: &'a str,
        api_version: &'a str,
        metadata: Metadata<'a>,
        data: Data<'a>,
        #[serde(rename = "type")]
        kind_of_secret: &'a str,
    }
    let object = SecretObject {
        kind: "Secret",
        api_version: "v1",
        metadata: Metadata { name, namespace, creation_timestamp: None },
        data: Data { config: data },
        kind_of_secret: "kubernetes.io/dockerconfigjson",
    };
    let mut out = Vec::new();
    let mut serializer =
        serde_json::Serializer::with_formatter(&mut out, serde_json::ser::PrettyFormatter::with_indent(b"    "));
    let _ = object.serialize(&mut serializer);
    let mut text = String::from_utf8(out).unwrap_or_default();
    text.push('\n');
    Zeroizing::new(text)
}

/// Stdout, or a file written atomically with `mode`: 0600 for what carries secrets, 0644 for
/// host configuration that daemons and other users must read.
fn emit(ctx: &Context, output_file: Option<&std::path::Path>, text: &str, mode: u32) -> Result<(), Failure> {
    let Some(path) = output_file else {
        return ctx.out.data(text);
    };
    let file = if mode == 0o600 { PrivateFile::new(path) } else { PrivateFile::public(path) };
    // A temporary file of an earlier export of this file that was killed mid-write holds
    // secrets; it goes now (only names that are exactly this file's temporary names).
    file.sweep();
    file.replace(text.as_bytes())?;
    ctx.out.info(format!("Wrote {} (mode {mode:04o}).", path.display()));
    Ok(())
}

/// An existing `--output-file` is someone's file: replacing it takes `--force`, or, for
/// docker-daemon, `--merge` of that same file (which keeps its settings).
fn refuse_to_replace(format: &ExportFormat) -> Result<(), Failure> {
    let (output, force, merge) = match format {
        ExportFormat::DockerConfig(a) | ExportFormat::AuthJson(a) => (&a.output_file, a.force, None),
        ExportFormat::K8sSecret(a) => (&a.export.output_file, a.export.force, None),
        ExportFormat::DockerDaemon(a) => (&a.target.output_file, a.target.force, Some(&a.merge)),
        ExportFormat::RegistriesConf(a) => (&a.output_file, a.force, None),
        ExportFormat::RegistriesYaml(a) => (&a.output_file, a.force, None),
        // Its own rule: hosts.toml files regcred wrote are replaced, others take --force.
        ExportFormat::ContainerdHosts(_) => return Ok(()),
    };
    let Some(path) = output else { return Ok(()) };
    if path.is_dir() {
        return Err(
            input_error!("--output-file {} is a directory", path.display()).hint("give the name of a file to write")
        );
    }
    if force || std::fs::symlink_metadata(path).is_err() {
        return Ok(());
    }
    let same = |other: &std::path::Path| match (std::fs::canonicalize(path), std::fs::canonicalize(other)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if let Some(Some(merged)) = merge
        && same(merged)
    {
        return Ok(());
    }
    let hint = if merge.is_some() {
        format!("merge into it with --merge {0} --output-file {0}, or replace it with --force", path.display())
    } else {
        "add --force to replace it, or choose another file".to_owned()
    };
    Err(input_error!("{} exists; regcred does not replace it without being told", path.display()).hint(hint))
}
