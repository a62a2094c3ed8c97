//! `regcred export`: the credentials in use, with their secrets, in the formats other tools
//! read: docker's config.json, the containers auth.json, a Kubernetes Secret.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use regcred_core::{Scope, Status, validate_name};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::cli::{ExportArgs, ExportFormat, ManifestFormat};
use crate::context::{Context, EnvCredentials, secret_failure, secret_key};
use crate::exit::{Failure, input_error};
use crate::secrets::Secret;
use crate::store::{Credential, write_atomically};

/// docker's and kubectl's username for identity (refresh) tokens.
const IDENTITY_TOKEN_USER: &str = "<token>";

pub fn run(format: ExportFormat, ctx: &Context) -> Result<(), Failure> {
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
            emit(ctx, &args, &pretty(&serde_json::json!({ "auths": auths })))
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
            emit(ctx, &args, &pretty(&serde_json::json!({ "auths": auths })))
        }
        ExportFormat::K8sSecret(args) => {
            check_secret_name(&args.name)?;
            if let Some(namespace) = &args.namespace {
                validate_name("namespace", namespace).map_err(|e| input_error!("{e}"))?;
            }
            let credentials = in_use(ctx, &args.export)?;
            let mut auths = serde_json::Map::new();
            for (c, scope, secret) in &credentials {
                let key = if scope.path().is_some() {
                    scope.to_string()
                } else {
                    scope.address().docker_config_key().to_owned()
                };
                auths.insert(key, docker_entry(c, secret, false));
            }
            // kubectl writes the config compactly, in this field order, and base64s it.
            let config = Zeroizing::new(serde_json::json!({ "auths": auths }).to_string());
            let data = Zeroizing::new(BASE64.encode(config.as_bytes()));
            let text = match args.output {
                ManifestFormat::Yaml => secret_yaml(&args.name, args.namespace.as_deref(), &data),
                ManifestFormat::Json => secret_json(&args.name, args.namespace.as_deref(), &data),
            };
            emit(ctx, &args.export, &text)
        }
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
    chosen
        .into_iter()
        .map(|(c, scope)| {
            let store = ctx.secrets(c.secret_store);
            let secret =
                store.get(&secret_key(&registries.store_id, &c)).map_err(secret_failure)?.ok_or_else(|| {
                    Failure::operational(format!(
                        "the secret of credential {} is missing from {}",
                        c.id,
                        store.location()
                    ))
                    .hint("run `regcred doctor`")
                })?;
            Ok((c, scope, secret))
        })
        .collect()
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
fn check_secret_name(name: &str) -> Result<(), Failure> {
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

/// Stdout, or a 0600 file written atomically.
fn emit(ctx: &Context, args: &ExportArgs, text: &str) -> Result<(), Failure> {
    match &args.output_file {
        None => {
            ctx.out.data(text);
            Ok(())
        }
        Some(path) => {
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => std::path::PathBuf::from("."),
            };
            write_atomically(&dir, path, text.as_bytes())?;
            ctx.out.info(format!("Wrote {} (mode 0600).", path.display()));
            Ok(())
        }
    }
}
