//! Kubernetes manifests: reading a stream of objects (YAML documents, JSON, a v1 `List`),
//! finding every pod template and its images, adding the `imagePullSecrets` the images'
//! credentials need, and writing the objects back (as values, or as the input's own text
//! for the documents `fast.rs` scans). Pure over data: which credential an image needs is
//! the caller's resolver's answer.

use std::collections::{HashMap, HashSet};
use std::fmt;

use serde::Serialize;
use serde_json::{Map, Value};

use super::fast::{self, Copied, Piece, Scanned};
use super::yaml::{self, YamlError};

/// One object of the input (a List stays one document).
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// The file it came from (`-` is `stdin`).
    pub file: String,
    /// 1-based among the file's non-empty documents.
    pub number: usize,
    pub value: Value,
}

/// Where an object is: `deploy.yaml, document 2`, `list.json, document 1, item 3`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub document: usize,
    pub item: Option<usize>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}, document {}", self.file, self.document)?;
        if let Some(item) = self.item {
            write!(f, ", item {}", item + 1)?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("{file}: not valid YAML: {error}")]
    Yaml { file: String, error: YamlError },
    #[error("{file}: not valid JSON: {error}")]
    Json { file: String, error: serde_json::Error },
    #[error("{at}: {message}")]
    Invalid { at: String, message: String },
    #[error("{at}: {path} {image:?} is not an image reference: {reason}")]
    Image { at: String, path: String, image: String, reason: String },
    #[error("{first} and {second} are the same object ({what}); kubectl would apply only the last")]
    Duplicate { first: String, second: String, what: String },
    #[error(
        "{at}: Secret {namespace}/{name} is not a docker-registry Secret, and regcred kube makes a Secret of that name"
    )]
    SecretConflict { at: String, namespace: String, name: String },
}

/// What the resolver says about an image: the credential it needs and that credential's
/// Secret name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pull {
    pub credential: u64,
    pub secret: String,
}

/// A Secret the output needs, in order of first use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeededSecret {
    pub namespace: String,
    pub name: String,
    pub credential: u64,
}

/// An image no credential applies to; its template was left as it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unresolved {
    pub at: String,
    pub path: String,
    pub image: String,
}

#[derive(Debug, Default)]
pub struct Outcome {
    pub secrets: Vec<NeededSecret>,
    pub unresolved: Vec<Unresolved>,
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Yaml,
    Json,
}

/// The objects of one input, one at a time: a JSON value or stream of values when the text
/// starts with `{`, else YAML documents. Empty YAML documents are dropped; every other one
/// must be a Kubernetes object (a mapping with `apiVersion` and `kind`).
pub fn documents<'a>(file: &'a str, text: &'a str) -> impl Iterator<Item = Result<Document, ManifestError>> + 'a {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let values: Box<dyn Iterator<Item = Result<Value, ManifestError>> + 'a> = if is_json(text) {
        Box::new(
            serde_json::Deserializer::from_str(text)
                .into_iter::<Value>()
                .map(move |r| r.map_err(|error| ManifestError::Json { file: file.to_owned(), error })),
        )
    } else {
        Box::new(yaml::Documents::new(text).map(move |r| r.map_err(|error| yaml_error(file, error))))
    };
    let mut number = 0;
    values.filter(|r| !matches!(r, Ok(Value::Null))).map(move |value| {
        number += 1;
        value_document(file, value?, number)
    })
}

fn is_json(text: &str) -> bool {
    text.trim_start().starts_with('{')
}

fn yaml_error(file: &str, error: YamlError) -> ManifestError {
    ManifestError::Yaml { file: file.to_owned(), error }
}

fn value_document(file: &str, value: Value, number: usize) -> Result<Document, ManifestError> {
    let document = Document { file: file.to_owned(), number, value };
    check_document(&document)?;
    Ok(document)
}

/// One object of the input: a value, or a YAML document the fast path scanned (which is
/// written back as its own text).
pub enum Object<'a> {
    Value(Document),
    Scanned(ScannedDocument<'a>),
}

/// A document the fast path understood, with where it is.
pub struct ScannedDocument<'a> {
    pub file: &'a str,
    /// 1-based among the file's non-empty documents, as [`Document::number`].
    pub number: usize,
    pub scanned: Scanned<'a>,
}

/// The objects of one input, as [`documents`], but with `fast` the YAML documents the
/// fast path understands come as [`Object::Scanned`], the others as values.
pub fn objects<'a>(
    file: &'a str,
    text: &'a str,
    fast: bool,
) -> Box<dyn Iterator<Item = Result<Object<'a>, ManifestError>> + 'a> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if fast && !is_json(text) {
        Box::new(mixed(file, text))
    } else {
        Box::new(documents(file, text).map(|document| document.map(Object::Value)))
    }
}

/// The fast path's pieces, and the documents it steps aside from read by the full parser
/// (one at a time, or the rest of the stream), numbered in one sequence.
fn mixed<'a>(file: &'a str, text: &'a str) -> impl Iterator<Item = Result<Object<'a>, ManifestError>> + 'a {
    let mut pieces = fast::Pieces::new(text);
    let mut slow: Option<(yaml::Documents<'a>, bool)> = None;
    let mut number = 0;
    let mut failed = false;
    std::iter::from_fn(move || {
        if failed {
            return None;
        }
        loop {
            if let Some((documents, whole)) = &mut slow {
                let whole = *whole;
                let next = documents.next();
                if !whole || next.is_none() {
                    slow = None;
                }
                match next {
                    None if whole => return None,
                    None | Some(Ok(Value::Null)) => continue,
                    Some(Ok(value)) => {
                        number += 1;
                        let document = value_document(file, value, number);
                        failed = document.is_err();
                        return Some(document.map(Object::Value));
                    }
                    Some(Err(error)) => {
                        failed = true;
                        return Some(Err(yaml_error(file, error)));
                    }
                }
            }
            match pieces.next()? {
                Piece::Scanned(scanned) => {
                    number += 1;
                    return Some(Ok(Object::Scanned(ScannedDocument { file, number, scanned })));
                }
                Piece::Slow { text, first_line, whole } => {
                    slow = Some((yaml::Documents::after_lines(text, first_line), whole));
                }
            }
        }
    })
}

/// All the objects of one input (the tests' whole-input form of [`documents`]).
#[cfg(test)]
pub fn parse(file: &str, text: &str) -> Result<Vec<Document>, ManifestError> {
    documents(file, text).collect()
}

fn check_document(document: &Document) -> Result<(), ManifestError> {
    let at = Location { file: document.file.clone(), document: document.number, item: None };
    check_object(&at, &document.value)?;
    if is_list(&document.value) {
        let Some(items) = document.value.get("items").and_then(Value::as_array) else {
            return Err(invalid(&at, "a List needs `items`, a list of objects"));
        };
        for (i, item) in items.iter().enumerate() {
            check_object(&Location { item: Some(i), ..at.clone() }, item)?;
        }
    }
    Ok(())
}

fn invalid(at: &impl fmt::Display, message: impl Into<String>) -> ManifestError {
    ManifestError::Invalid { at: at.to_string(), message: message.into() }
}

fn check_object(at: &Location, value: &Value) -> Result<(), ManifestError> {
    let Some(object) = value.as_object() else {
        return Err(invalid(at, "not a Kubernetes object: a mapping with apiVersion and kind"));
    };
    for field in ["apiVersion", "kind"] {
        match object.get(field) {
            Some(Value::String(s)) if !s.is_empty() => {}
            Some(_) => return Err(invalid(at, format!("not a Kubernetes object: `{field}` is not a string"))),
            None => return Err(invalid(at, format!("not a Kubernetes object: no `{field}`"))),
        }
    }
    match object.get("metadata") {
        None | Some(Value::Object(_)) => Ok(()),
        Some(_) => Err(invalid(at, "`metadata` is not a mapping")),
    }
}

fn is_list(value: &Value) -> bool {
    value.get("kind").and_then(Value::as_str) == Some("List")
}

fn text<'a>(value: &'a Value, field: &str) -> Option<&'a str> {
    value.get(field).and_then(Value::as_str)
}

fn metadata_text<'a>(value: &'a Value, field: &str) -> Option<&'a str> {
    value.get("metadata").and_then(|m| m.get(field)).and_then(Value::as_str).filter(|s| !s.is_empty())
}

/// `Deployment web` or `Deployment (no name)`, for messages.
fn describe(value: &Value) -> String {
    format!("{} {}", text(value, "kind").unwrap_or("?"), metadata_text(value, "name").unwrap_or("(no name)"))
}

/// Where the pod spec of a workload kind is; `None` for kinds without pod templates.
pub(super) fn pod_spec_path(api_version: &str, kind: &str) -> Option<&'static [&'static str]> {
    let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
    match (group, kind) {
        ("", "Pod") => Some(&["spec"]),
        ("", "PodTemplate") => Some(&["template", "spec"]),
        ("", "ReplicationController")
        | ("apps" | "extensions", "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet")
        | ("batch", "Job") => Some(&["spec", "template", "spec"]),
        ("batch", "CronJob") => Some(&["spec", "jobTemplate", "spec", "template", "spec"]),
        _ => None,
    }
}

/// Every object of the documents (List items in place of their List) with its location.
fn objects_mut(documents: &mut [Document]) -> Vec<(Location, &mut Value)> {
    let mut found = Vec::new();
    for document in documents {
        let at = Location { file: document.file.clone(), document: document.number, item: None };
        if is_list(&document.value) {
            if let Some(items) = document.value.get_mut("items").and_then(Value::as_array_mut) {
                for (i, item) in items.iter_mut().enumerate() {
                    found.push((Location { item: Some(i), ..at.clone() }, item));
                }
            }
        } else {
            found.push((at, &mut document.value));
        }
    }
    found
}

/// Adds to every pod template the Secrets its images' credentials need. `resolve` answers
/// for one image: `Ok(None)` when no credential applies, `Err` when it is not a reference.
/// A template with an image no credential applies to is left as it was. Input Secrets of
/// the names and namespaces the output makes are dropped (the output carries them fresh),
/// so running this over its own output changes nothing. The tests' whole-input form of
/// [`Attacher`].
#[cfg(test)]
pub fn attach(
    documents: &mut Vec<Document>,
    default_namespace: &str,
    resolve: impl FnMut(&str) -> Result<Option<Pull>, String>,
) -> Result<Outcome, ManifestError> {
    let mut attacher = Attacher::new(default_namespace, resolve);
    for document in documents.iter_mut() {
        attacher.add(document)?;
    }
    let mut keep = Vec::with_capacity(documents.len());
    for document in documents.iter_mut() {
        keep.push(!attacher.drop_replaced(document)?);
    }
    let mut flags = keep.into_iter();
    documents.retain(|_| flags.next().unwrap_or(true));
    Ok(attacher.finish())
}

/// Attaching one document at a time, for streams too long to hold as values: `add` each
/// document (then render it, unless [`may_be_replaced`]), and once all are added,
/// `drop_replaced` on the ones held back.
pub struct Attacher<R> {
    default_namespace: String,
    resolve: R,
    seen: HashMap<(String, String, String, String), Location>,
    needed: HashSet<(String, String)>,
    outcome: Outcome,
}

impl<R: FnMut(&str) -> Result<Option<Pull>, String>> Attacher<R> {
    pub fn new(default_namespace: &str, resolve: R) -> Self {
        Attacher {
            default_namespace: default_namespace.to_owned(),
            resolve,
            seen: HashMap::new(),
            needed: HashSet::new(),
            outcome: Outcome::default(),
        }
    }

    /// Checks one document against the ones before it and adds its templates' Secrets.
    pub fn add(&mut self, document: &mut Document) -> Result<(), ManifestError> {
        for (at, object) in objects_mut(std::slice::from_mut(document)) {
            self.check_duplicate(&at, object)?;
            self.attach_object(at, object)?;
        }
        Ok(())
    }

    fn check_duplicate(&mut self, at: &Location, object: &Value) -> Result<(), ManifestError> {
        let api_version = text(object, "apiVersion").unwrap_or_default();
        let kind = text(object, "kind").unwrap_or_default();
        let namespace = metadata_text(object, "namespace");
        self.check_duplicate_of(at, api_version, kind, namespace, metadata_text(object, "name"))
    }

    fn check_duplicate_of(
        &mut self,
        at: &Location,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: Option<&str>,
    ) -> Result<(), ManifestError> {
        let Some(name) = name else { return Ok(()) };
        let group = api_version.rsplit_once('/').map_or("", |(group, _)| group).to_owned();
        let namespace = namespace.unwrap_or(&self.default_namespace).to_owned();
        let what = format!("{kind} {namespace}/{name}");
        if let Some(first) = self.seen.insert((group, kind.to_owned(), namespace, name.to_owned()), at.clone()) {
            return Err(ManifestError::Duplicate { first: first.to_string(), second: at.to_string(), what });
        }
        Ok(())
    }

    /// Checks a scanned document against the ones before it and returns its text with
    /// the Secrets its template needs added.
    pub fn add_scanned<'a>(&mut self, document: &ScannedDocument<'a>) -> Result<Copied<'a>, ManifestError> {
        let scanned = &document.scanned;
        let name = scanned.name.filter(|s| !s.is_empty());
        let namespace = scanned.namespace.filter(|s| !s.is_empty());
        let at = Location { file: document.file.to_owned(), document: document.number, item: None };
        self.check_duplicate_of(&at, scanned.api_version, scanned.kind, namespace, name)?;
        let (Some(spec), Some(path)) = (&scanned.spec, pod_spec_path(scanned.api_version, scanned.kind)) else {
            return Ok(scanned.render(&[]));
        };
        let namespace = namespace.unwrap_or(&self.default_namespace).to_owned();
        let at = format!("{at} ({} {})", scanned.kind, name.unwrap_or("(no name)"));
        let prefix = path.join(".");
        let images = spec.images.iter().map(|&(field, i, image)| (field, i, image));
        let Some(pulls) = resolve_pulls(images, &at, &prefix, &mut self.resolve, &mut self.outcome.unresolved)? else {
            return Ok(scanned.render(&[]));
        };
        let mut added: Vec<String> = Vec::new();
        for pull in pulls {
            if !spec.existing.contains(&pull.secret.as_str()) && !added.contains(&pull.secret) {
                added.push(pull.secret.clone());
            }
            self.need(&namespace, pull);
        }
        Ok(scanned.render(&added))
    }

    fn need(&mut self, namespace: &str, pull: Pull) {
        if self.needed.insert((namespace.to_owned(), pull.secret.clone())) {
            self.outcome.secrets.push(NeededSecret {
                namespace: namespace.to_owned(),
                name: pull.secret,
                credential: pull.credential,
            });
        }
    }

    fn attach_object(&mut self, at: Location, object: &mut Value) -> Result<(), ManifestError> {
        let (Some(api_version), Some(kind)) = (text(object, "apiVersion"), text(object, "kind")) else {
            return Ok(());
        };
        let Some(path) = pod_spec_path(api_version, kind) else { return Ok(()) };
        let namespace = metadata_text(object, "namespace").unwrap_or(&self.default_namespace).to_owned();
        let at = format!("{at} ({})", describe(object));
        let spec = pod_spec(object, path).map_err(|message| invalid(&at, message))?;
        let prefix = path.join(".");
        let Some(pulls) = template_pulls(spec, &at, &prefix, &mut self.resolve, &mut self.outcome.unresolved)? else {
            return Ok(());
        };
        let pull_secrets = spec.entry("imagePullSecrets").or_insert_with(|| Value::Array(Vec::new()));
        let Some(pull_secrets) = pull_secrets.as_array_mut() else {
            return Err(invalid(&at, format!("{prefix}.imagePullSecrets is not a list")));
        };
        for pull in pulls {
            if !pull_secrets.iter().any(|s| text(s, "name") == Some(pull.secret.as_str())) {
                let mut reference = Map::new();
                reference.insert("name".into(), Value::String(pull.secret.clone()));
                pull_secrets.push(Value::Object(reference));
            }
            self.need(&namespace, pull);
        }
        Ok(())
    }

    /// After every document was added: drops from a held-back document the Secrets the
    /// output makes again (docker-registry Secrets of the same namespace and name), and
    /// says whether the whole document goes. Any other Secret of such a name is a conflict.
    pub fn drop_replaced(&self, document: &mut Document) -> Result<bool, ManifestError> {
        let at = Location { file: document.file.clone(), document: document.number, item: None };
        if !is_list(&document.value) {
            return self.replaced(&document.value, &|| at.to_string());
        }
        if let Some(items) = document.value.get_mut("items").and_then(Value::as_array_mut) {
            let mut kept = Vec::with_capacity(items.len());
            for (i, item) in items.drain(..).enumerate() {
                let item_at = || Location { item: Some(i), ..at.clone() }.to_string();
                if !self.replaced(&item, &item_at)? {
                    kept.push(item);
                }
            }
            *items = kept;
        }
        Ok(false)
    }

    fn replaced(&self, value: &Value, at: &dyn Fn() -> String) -> Result<bool, ManifestError> {
        if !is_secret(value) {
            return Ok(false);
        }
        let Some(name) = metadata_text(value, "name") else { return Ok(false) };
        let namespace = metadata_text(value, "namespace").unwrap_or(&self.default_namespace);
        if !self.needed.contains(&(namespace.to_owned(), name.to_owned())) {
            return Ok(false);
        }
        if text(value, "type") == Some("kubernetes.io/dockerconfigjson") {
            return Ok(true);
        }
        Err(ManifestError::SecretConflict { at: at(), namespace: namespace.to_owned(), name: name.to_owned() })
    }

    pub fn finish(self) -> Outcome {
        self.outcome
    }
}

fn is_secret(value: &Value) -> bool {
    text(value, "apiVersion") == Some("v1") && text(value, "kind") == Some("Secret")
}

/// Whether a document holds a Secret the output may replace: such documents wait for
/// [`Attacher::drop_replaced`] before they are written.
pub fn may_be_replaced(document: &Document) -> bool {
    is_secret(&document.value)
        || (is_list(&document.value)
            && document.value.get("items").and_then(Value::as_array).is_some_and(|items| items.iter().any(is_secret)))
}

/// The pod spec at `path`, created nowhere: a workload without one is refused.
fn pod_spec<'a>(object: &'a mut Value, path: &[&str]) -> Result<&'a mut Map<String, Value>, String> {
    let mut here = object;
    for (i, step) in path.iter().enumerate() {
        let shown = path[..=i].join(".");
        here = match here.as_object_mut().and_then(|m| m.get_mut(*step)) {
            Some(next) => next,
            None => return Err(format!("no pod template: {shown} is missing")),
        };
        if !here.is_object() {
            return Err(format!("{shown} is not a mapping"));
        }
    }
    here.as_object_mut().ok_or_else(|| format!("{} is not a mapping", path.join(".")))
}

/// The pulls of one template's images in order, one per Secret; `None` when an image has
/// no credential (then recorded in `unresolved`).
fn template_pulls(
    spec: &Map<String, Value>,
    at: &str,
    prefix: &str,
    resolve: &mut impl FnMut(&str) -> Result<Option<Pull>, String>,
    unresolved: &mut Vec<Unresolved>,
) -> Result<Option<Vec<Pull>>, ManifestError> {
    if !spec.contains_key("containers") {
        return Err(invalid(&at, format!("{prefix}.containers is missing")));
    }
    let mut images = Vec::new();
    // In the order the kubelet pulls them.
    for field in ["initContainers", "containers", "ephemeralContainers"] {
        let Some(list) = spec.get(field) else { continue };
        let Some(list) = list.as_array() else {
            return Err(invalid(&at, format!("{prefix}.{field} is not a list")));
        };
        for (i, container) in list.iter().enumerate() {
            let image = match container.get("image") {
                Some(Value::String(image)) => image.as_str(),
                Some(_) => return Err(invalid(&at, format!("{prefix}.{field}[{i}].image is not a string"))),
                None if container.is_object() => {
                    return Err(invalid(&at, format!("{prefix}.{field}[{i}].image is missing")));
                }
                None => return Err(invalid(&at, format!("{prefix}.{field}[{i}] is not a mapping"))),
            };
            images.push((field, i, image));
        }
    }
    resolve_pulls(images.into_iter(), at, prefix, resolve, unresolved)
}

/// The pulls of a template's images (field, index, image), in that order.
fn resolve_pulls<'i>(
    images: impl Iterator<Item = (&'static str, usize, &'i str)>,
    at: &str,
    prefix: &str,
    resolve: &mut impl FnMut(&str) -> Result<Option<Pull>, String>,
    unresolved: &mut Vec<Unresolved>,
) -> Result<Option<Vec<Pull>>, ManifestError> {
    let mut pulls: Vec<Pull> = Vec::new();
    let mut complete = true;
    for (field, i, image) in images {
        let path = format!("{prefix}.{field}[{i}].image");
        match resolve(image) {
            Err(reason) => {
                return Err(ManifestError::Image { at: at.to_owned(), path, image: image.to_owned(), reason });
            }
            Ok(None) => {
                complete = false;
                unresolved.push(Unresolved { at: at.to_owned(), path, image: image.to_owned() });
            }
            Ok(Some(pull)) => {
                if !pulls.iter().any(|p| p.secret == pull.secret) {
                    pulls.push(pull);
                }
            }
        }
    }
    Ok(complete.then_some(pulls))
}

/// One object as `kubectl -o json` writes it: four-space indentation, a final newline.
pub fn to_json(value: &Value) -> String {
    let mut out = Vec::new();
    let mut serializer =
        serde_json::Serializer::with_formatter(&mut out, serde_json::ser::PrettyFormatter::with_indent(b"    "));
    // Serializing a Value into memory cannot fail.
    let _ = value.serialize(&mut serializer);
    let mut text = String::from_utf8(out).unwrap_or_default();
    text.push('\n');
    text
}

/// One document as the output writes it.
pub fn render_one(document: &Document, format: Format) -> String {
    match format {
        Format::Yaml => yaml::to_string(&document.value),
        Format::Json => to_json(&document.value),
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    /// The tests' resolver: three registries with a credential each, anything else without
    /// one, and an image with a space, or none at all, not a reference.
    pub(crate) fn resolver(image: &str) -> Result<Option<Pull>, String> {
        if image.contains(' ') || image.is_empty() {
            return Err("not a reference".into());
        }
        let credential = match image.split('/').next() {
            Some("quay.io") => 1,
            Some("ghcr.io") => 2,
            Some("registry.lan:5000") => 3,
            _ => return Ok(None),
        };
        Ok(Some(Pull { credential, secret: format!("cred-{credential}") }))
    }

    fn docs(text: &str) -> Vec<Document> {
        parse("test.yaml", text).expect("parses")
    }

    #[test]
    fn every_workload_kind_gets_its_secrets() {
        let mut d = docs(
            "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: quay.io/a}]\n  ephemeralContainers: [{name: dbg, image: ghcr.io/x/debug}]\n\
             ---\napiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c, namespace: jobs}\nspec:\n  schedule: '* * * * *'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          initContainers: [{name: i, image: registry.lan:5000/init}]\n          containers: [{name: m, image: quay.io/m}]\n\
             ---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {image: quay.io/not-a-container}\n",
        );
        let outcome = attach(&mut d, "ns", resolver).unwrap();
        assert!(outcome.unresolved.is_empty());
        assert_eq!(d[0].value["spec"]["imagePullSecrets"], json!([{"name": "cred-1"}, {"name": "cred-2"}]));
        assert_eq!(
            d[1].value["spec"]["jobTemplate"]["spec"]["template"]["spec"]["imagePullSecrets"],
            json!([{"name": "cred-3"}, {"name": "cred-1"}])
        );
        assert!(d[2].value.get("spec").is_none());
        let names: Vec<(&str, &str)> =
            outcome.secrets.iter().map(|s| (s.namespace.as_str(), s.name.as_str())).collect();
        assert_eq!(names, [("ns", "cred-1"), ("ns", "cred-2"), ("jobs", "cred-3"), ("jobs", "cred-1")]);
    }

    #[test]
    fn an_unresolved_image_leaves_its_template_alone() {
        let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers: [{name: a, image: quay.io/a}, {name: b, image: nginx}]\n";
        let mut d = docs(text);
        let before = d.clone();
        let outcome = attach(&mut d, "default", resolver).unwrap();
        assert_eq!(d, before);
        assert!(outcome.secrets.is_empty());
        assert_eq!(outcome.unresolved.len(), 1);
        assert_eq!(outcome.unresolved[0].path, "spec.template.spec.containers[1].image");
    }

    #[test]
    fn bad_workloads_are_refused_with_where() {
        let cases = [
            (
                "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {replicas: 1}\n",
                "spec.template is missing",
            ),
            ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a}]}\n", "image is missing"),
            (
                "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a, image: 'a b'}]}\n",
                "not an image reference",
            ),
            ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: {}}\n", "is not a list"),
            (
                "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {containers: [], imagePullSecrets: x}\n",
                "imagePullSecrets is not a list",
            ),
            ("apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec: {}\n", "containers is missing"),
            (
                "apiVersion: v1\nkind: Service\nmetadata: {name: p}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: p}\n",
                "same object",
            ),
        ];
        for (text, needle) in cases {
            let mut d = docs(text);
            let e = attach(&mut d, "default", resolver).map(|_| ()).unwrap_err().to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
        for (text, needle) in
            [("- a\n- b\n", "not a Kubernetes object"), ("kind: Pod\n", "no `apiVersion`"), ("{\"kind\": 1", "JSON")]
        {
            let e = parse("x", text).unwrap_err().to_string();
            assert!(e.contains(needle), "{text}: {e}");
        }
    }

    fn arb_image() -> impl Strategy<Value = String> {
        prop::sample::select(vec![
            "quay.io/a",
            "quay.io/b:1",
            "ghcr.io/x/y",
            "registry.lan:5000/z@sha256:0",
            "ghcr.io/q",
            "registry.lan:5000/w",
        ])
        .prop_map(str::to_owned)
    }

    fn arb_spec() -> impl Strategy<Value = Value> {
        (
            prop::collection::vec(arb_image(), 1..4),
            prop::collection::vec(arb_image(), 0..3),
            prop::collection::vec(arb_image(), 0..2),
            prop::sample::subsequence(vec!["cred-2", "other", "cred-3"], 0..3),
            any::<bool>(),
        )
            .prop_map(|(containers, init, ephemeral, existing, with_key)| {
                let list = |images: Vec<String>| -> Value {
                    images
                        .into_iter()
                        .enumerate()
                        .map(|(i, image)| json!({"name": format!("c{i}"), "image": image}))
                        .collect()
                };
                let mut spec = json!({"containers": list(containers), "restartPolicy": "Always"});
                if !init.is_empty() {
                    spec["initContainers"] = list(init);
                }
                if !ephemeral.is_empty() {
                    spec["ephemeralContainers"] = list(ephemeral);
                }
                if with_key || !existing.is_empty() {
                    spec["imagePullSecrets"] = existing.into_iter().map(|n| json!({"name": n})).collect();
                }
                spec
            })
    }

    proptest! {
        #[test]
        fn every_images_credential_is_referenced_exactly_once_per_template(
            specs in prop::collection::vec(arb_spec(), 1..6)
        ) {
            let mut documents: Vec<Document> = specs.iter().enumerate().map(|(i, spec)| Document {
                file: "p".into(),
                number: i + 1,
                value: json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": format!("d{i}")},
                              "spec": {"template": {"metadata": {"labels": {"app": "x"}}, "spec": spec.clone()}}}),
            }).collect();
            attach(&mut documents, "default", resolver).unwrap();
            let once = documents.clone();
            for (document, before) in documents.iter().zip(&specs) {
                let after = &document.value["spec"]["template"]["spec"];
                let names: Vec<&str> = after["imagePullSecrets"].as_array().unwrap().iter()
                    .map(|s| s["name"].as_str().unwrap()).collect();
                // What was there stays first, in its order.
                let existing: Vec<&str> = before.get("imagePullSecrets").and_then(Value::as_array)
                    .map(|a| a.iter().map(|s| s["name"].as_str().unwrap()).collect()).unwrap_or_default();
                prop_assert_eq!(&names[..existing.len()], &existing[..]);
                // Every image's credential exactly once.
                for field in ["containers", "initContainers", "ephemeralContainers"] {
                    for c in after.get(field).and_then(Value::as_array).into_iter().flatten() {
                        let pull = resolver(c["image"].as_str().unwrap()).unwrap().unwrap();
                        prop_assert_eq!(names.iter().filter(|n| **n == pull.secret).count(), 1);
                    }
                }
                // Nothing else changed.
                let mut stripped = after.clone();
                stripped.as_object_mut().unwrap().remove("imagePullSecrets");
                let mut original = before.clone();
                original.as_object_mut().unwrap().remove("imagePullSecrets");
                prop_assert_eq!(stripped, original);
            }
            // Idempotent.
            attach(&mut documents, "default", resolver).unwrap();
            prop_assert_eq!(documents, once);
        }
    }
}
