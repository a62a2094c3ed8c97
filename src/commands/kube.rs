//! `regcred kube`: Kubernetes manifests in, the same manifests out with the
//! `imagePullSecrets` their images need, preceded by those Secrets. The manifest work is
//! `crate::kube`; this file reads the inputs and brings the store's answers.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use regcred_core::{Reference, Scope, validate_name};

use crate::cli::{KubeArgs, ManifestFormat};
use crate::commands::export::{check_secret_name, k8s_secret};
use crate::context::{Context, EnvCredentials};
use crate::exit::{ExitCode, Failure, input_error};
use crate::kube::fast::Copied;
use crate::kube::manifest::{self, Attacher, Document, Format, ManifestError, Object, Pull};
use crate::kube::secret::secret_name;
use crate::vault::fs::FsError;
use crate::vault::secrets::Secret;
use crate::vault::store::Credential;

pub fn run(args: KubeArgs, ctx: &Context) -> Result<u8, Failure> {
    let namespace = args.namespace.as_deref().unwrap_or("default");
    validate_name("namespace", namespace).map_err(|e| input_error!("{e}"))?;
    let format = match args.output {
        ManifestFormat::Yaml => Format::Yaml,
        ManifestFormat::Json => Format::Json,
    };

    let pulls = Pulls::load(ctx)?;
    let mut answers: HashMap<String, Option<Pull>> = HashMap::new();
    let mut attacher = Attacher::new(namespace, |image: &str| {
        if let Some(answer) = answers.get(image) {
            return Ok(answer.clone());
        }
        let answer = pulls.resolve(image)?;
        answers.insert(image.to_owned(), answer.clone());
        Ok(answer)
    });
    // Every input is read first: the documents the fast path copies are written from it.
    let inputs = args.files.iter().map(|file| read(file)).collect::<Result<Vec<_>, _>>()?;
    // Each document is rendered as soon as it is done, so a long stream is never held as
    // values; Secrets the output may replace wait until every document is seen.
    let mut chunks: Vec<Chunk<'_>> = Vec::new();
    for (name, text) in &inputs {
        let (name, text) = (name.as_str(), text.as_str());
        // Parsing is most of the work: one thread parses while this one attaches and
        // renders, in document order. A parse error stops the parser after it is sent.
        std::thread::scope(|scope| -> Result<(), Failure> {
            let (parsed, documents) = std::sync::mpsc::sync_channel(64);
            scope.spawn(move || {
                // YAML output copies the documents the fast path understands as they are.
                for document in manifest::objects(name, text, format == Format::Yaml) {
                    let last = document.is_err();
                    if parsed.send(document).is_err() || last {
                        break;
                    }
                }
            });
            for object in documents {
                let mut document = match object.map_err(bad_manifest)? {
                    Object::Value(document) => document,
                    Object::Scanned(scanned) => {
                        chunks.push(Chunk::Copied(attacher.add_scanned(&scanned).map_err(bad_manifest)?));
                        continue;
                    }
                };
                attacher.add(&mut document).map_err(bad_manifest)?;
                if manifest::may_be_replaced(&document) {
                    chunks.push(Chunk::Held(document));
                } else {
                    chunks.push(Chunk::Text(manifest::render_one(&document, format)));
                }
            }
            Ok(())
        })?;
    }
    let mut texts = Vec::with_capacity(chunks.len());
    for chunk in chunks {
        match chunk {
            Chunk::Held(mut document) => {
                if !attacher.drop_replaced(&mut document).map_err(bad_manifest)? {
                    texts.push(Chunk::Text(manifest::render_one(&document, format)));
                }
            }
            chunk => texts.push(chunk),
        }
    }
    let outcome = attacher.finish();

    // One Secret name per credential, each a valid name.
    let mut names: HashMap<&str, u64> = HashMap::new();
    for needed in &outcome.secrets {
        check_secret_name(&needed.name).map_err(|_| {
            input_error!(
                "the Secret name {:?} for credential {} is not a valid Kubernetes name",
                needed.name,
                needed.credential
            )
            .hint(format!("name the credential: regcred edit {} --name NAME", needed.credential))
        })?;
        if let Some(other) = names.insert(&needed.name, needed.credential)
            && other != needed.credential
        {
            return Err(input_error!(
                "credentials {other} and {} would both make the Secret {:?}",
                needed.credential,
                needed.name
            )
            .hint(format!("rename one: regcred edit {} --name NAME", needed.credential)));
        }
    }

    let secrets = pulls.secrets(ctx, outcome.secrets.iter().map(|s| s.credential))?;
    let mut secret_texts = Vec::with_capacity(outcome.secrets.len());
    for needed in &outcome.secrets {
        if let Some(credential) = secrets.iter().find(|(c, _, _)| c.id == needed.credential) {
            secret_texts.push(k8s_secret(
                &needed.name,
                Some(&needed.namespace),
                std::slice::from_ref(credential),
                args.output,
            ));
        }
    }
    let secret_parts = secret_texts.iter().map(|t| [t.as_str(), "", "", ""]);
    write(ctx, secret_parts.chain(texts.iter().map(Chunk::parts)), format)?;

    ctx.out.warn_all(outcome.unresolved.iter().map(|unresolved| {
        format!(
            "no credential for {} ({}, {}) in environment {}: that template is unchanged",
            unresolved.image, unresolved.at, unresolved.path, pulls.environment
        )
    }));
    if outcome.unresolved.is_empty() { Ok(0) } else { Ok(ExitCode::Unresolved as u8) }
}

fn bad_manifest(error: ManifestError) -> Failure {
    let syntax = matches!(error, ManifestError::Yaml { .. } | ManifestError::Json { .. });
    let failure = Failure::input(error.to_string());
    if syntax {
        failure.hint("regcred kube reads Kubernetes objects: YAML documents, JSON, or a v1 List")
    } else {
        failure
    }
}

/// One document of the output.
enum Chunk<'a> {
    Text(String),
    /// A document of the input, copied with its new lines.
    Copied(Copied<'a>),
    /// A Secret that waits until every document is seen.
    Held(Document),
}

impl Chunk<'_> {
    fn parts(&self) -> [&str; 4] {
        match self {
            Chunk::Text(text) => [text, "", "", ""],
            Chunk::Copied(copied) => copied.parts(),
            Chunk::Held(_) => ["", "", "", ""],
        }
    }
}

/// The output stream, in pieces of about 64 KiB: YAML documents separated by `---`, JSON
/// objects one after another. The buffer is wiped, as it held Secrets.
fn write<'a>(ctx: &Context, documents: impl Iterator<Item = [&'a str; 4]>, format: Format) -> Result<(), Failure> {
    let mut buffer = zeroize::Zeroizing::new(String::with_capacity(1 << 16));
    for (i, parts) in documents.enumerate() {
        if i > 0 && format == Format::Yaml {
            buffer.push_str("---\n");
        }
        for part in parts {
            buffer.push_str(part);
        }
        if buffer.len() >= 1 << 16 {
            ctx.out.data(&buffer)?;
            zeroize::Zeroize::zeroize(&mut *buffer);
        }
    }
    if buffer.is_empty() { Ok(()) } else { ctx.out.data(&buffer) }
}

/// The name and text of one FILE (`-`: stdin).
fn read(file: &Path) -> Result<(String, String), Failure> {
    if file.as_os_str() == "-" {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| input_error!("cannot read manifests from stdin: {e}"))?;
        return Ok(("stdin".to_owned(), text));
    }
    let name = file.display().to_string();
    if file.is_dir() {
        return Err(input_error!("{name} is a directory").hint("give the manifest files, e.g. dir/*.yaml"));
    }
    let bytes = std::fs::read(file).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => input_error!("{name}: no such file"),
        _ => FsError::io("cannot read", file, e).into(),
    })?;
    let text = String::from_utf8(bytes).map_err(|_| input_error!("{name} is not UTF-8 text"))?;
    Ok((name, text))
}

/// The environment's credentials, for answering which one an image needs, and reading
/// the secrets of those used (each once). The only part of this command that knows the
/// store.
struct Pulls {
    environment: String,
    store_id: String,
    credentials: Vec<Credential>,
    scopes: Vec<Scope>,
}

impl Pulls {
    fn load(ctx: &Context) -> Result<Pulls, Failure> {
        let registries = ctx.store.load()?;
        let environment = ctx.environment(&registries)?;
        let env = EnvCredentials::new(&registries, &environment)?;
        Ok(Pulls {
            store_id: registries.store_id.clone(),
            credentials: env.records.iter().map(|c| (*c).clone()).collect(),
            scopes: env.scopes,
            environment,
        })
    }

    /// The credential a pull of `image` uses (the full rule, scopes included: kubelet
    /// matches `.dockerconfigjson` keys by path prefix too) and its Secret's name.
    fn resolve(&self, image: &str) -> Result<Option<Pull>, String> {
        let reference = Reference::parse(image).map_err(|e| e.to_string())?;
        let candidates: Vec<regcred_core::Candidate<'_>> = self
            .credentials
            .iter()
            .zip(&self.scopes)
            .map(|(c, scope)| regcred_core::Candidate { id: c.id, scope, sequence: c.sequence, active: c.active })
            .collect();
        let Some(id) = regcred_core::select_chosen(&candidates, &reference) else { return Ok(None) };
        let Some(c) = self.credentials.iter().find(|c| c.id == id) else { return Ok(None) };
        Ok(Some(Pull { credential: id, secret: secret_name(c.name.as_deref(), &c.address) }))
    }

    /// The used credentials with their scopes and secrets, each secret read once.
    fn secrets(
        &self,
        ctx: &Context,
        ids: impl Iterator<Item = u64>,
    ) -> Result<Vec<(Credential, Scope, Secret)>, Failure> {
        let mut found: Vec<(Credential, Scope, Secret)> = Vec::new();
        for id in ids {
            if found.iter().any(|(c, _, _)| c.id == id) {
                continue;
            }
            let Some(index) = self.credentials.iter().position(|c| c.id == id) else { continue };
            let c = &self.credentials[index];
            let secret = ctx.secret_of(&self.store_id, c)?;
            found.push((c.clone(), self.scopes[index].clone(), secret));
        }
        Ok(found)
    }
}
