//! `regcred resolve`: which credential a pull of each image would use, and why. Opens the
//! secret store only under `--show-secret`. A bad reference does not stop a batch: it is
//! reported where it stood, the others are resolved, and the exit status is 2.

use std::io::BufRead;

use regcred_core::{Reference, RegistryAddress, Scope, Status, Verdict};
use serde::Serialize;

use crate::cli::{Client, Format, ResolveArgs};
use crate::commands::view::{CredentialJson, CredentialView, credential_label, json_line};
use crate::context::{Context, EnvCredentials};
use crate::exit::{ExitCode, Failure, input_error};
use crate::secrets::Secret;
use crate::shell::{Lines, Shell};
use crate::store::{Credential, Need};
use crate::table::{self, Column, Give};

/// The longest stdin line taken as an image reference.
const MAX_LINE: usize = 4096;

/// Where an image came from, for the error of a bad one.
#[derive(Debug, Clone, Copy)]
enum Origin {
    /// The N-th IMAGE argument.
    Argument(usize),
    /// Line N of stdin.
    Line(usize),
}

/// One image as given, with its reference or why it has none.
struct Input {
    image: String,
    origin: Origin,
    parsed: Result<Reference, String>,
}

pub fn run(args: ResolveArgs, ctx: &Context) -> Result<u8, Failure> {
    let mut inputs: Vec<Input> = args
        .images
        .iter()
        .enumerate()
        .map(|(n, image)| Input { image: image.clone(), origin: Origin::Argument(n + 1), parsed: parse(image) })
        .collect();
    if args.stdin {
        inputs.extend(read_stdin()?);
    }
    let references: Vec<&Reference> = inputs.iter().filter_map(|i| i.parsed.as_ref().ok()).collect();

    // Only the credentials of the environment that may be on these registries are read;
    // the others can be neither chosen nor shown (a credential on another registry gets no
    // verdict in `--explain` and cannot override one on these).
    let mut registries_wanted: Vec<&RegistryAddress> = references.iter().map(|r| r.registry_address()).collect();
    registries_wanted.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
    registries_wanted.dedup();
    let may_be_wanted = |text: &str| registries_wanted.iter().any(|a| Scope::may_have_address(text, a));
    let registries =
        ctx.store.load_only(&Need { environment: ctx.env_override(), address: &may_be_wanted, id_or_name: None })?;
    let environment = ctx.environment(&registries)?;
    let env_credentials = EnvCredentials::new(&registries, &environment)?;
    let all_candidates = env_credentials.candidates();
    // docker asks the helper per registry only (the helper's `get`).
    let registry_wide = env_credentials.registry_wide_candidates();
    let (candidates, other_candidates, other_client) = match args.client {
        Client::Containers => (all_candidates.as_slice(), registry_wide.as_slice(), Client::Docker),
        Client::Docker => (registry_wide.as_slice(), all_candidates.as_slice(), Client::Containers),
    };
    let statuses = if args.explain { env_credentials.statuses() } else { Vec::new() };
    let index_of = |id: u64| env_credentials.records.iter().position(|c| c.id == id);

    let mut chosen: Vec<Option<usize>> = Vec::with_capacity(references.len());
    let mut explained = Vec::with_capacity(references.len());
    let mut differs: Vec<Option<Option<usize>>> = Vec::with_capacity(references.len());
    for reference in &references {
        if args.explain {
            let selection = regcred_core::select(candidates, reference);
            let other = regcred_core::select_chosen(other_candidates, reference);
            differs.push((other != selection.chosen).then(|| other.and_then(index_of)));
            chosen.push(selection.chosen.and_then(index_of));
            explained.push(Some(selection.verdicts));
        } else {
            chosen.push(regcred_core::select_chosen(candidates, reference).and_then(index_of));
            explained.push(None);
            differs.push(None);
        }
    }

    // Each chosen credential's secret is read once, however many images it serves.
    let mut cache = ctx.secret_cache(&registries.store_id);
    if args.show_secret {
        for i in chosen.iter().flatten() {
            cache.secret_of(env_credentials.records[*i])?;
        }
    }
    let secrets: Vec<Option<&Secret>> =
        chosen.iter().map(|index| index.and_then(|i| cache.cached(env_credentials.records[i]))).collect();

    let records = &env_credentials.records;
    let mut entries = Vec::with_capacity(inputs.len());
    let mut n = 0;
    for input in &inputs {
        let reference = match &input.parsed {
            Ok(reference) => reference,
            Err(error) => {
                entries.push(Entry::Invalid { image: &input.image, origin: input.origin, error });
                continue;
            }
        };
        let credential = chosen[n].map(|i| view(records, &statuses, i, secrets[n]));
        let candidates = explained[n].take().map(|verdicts| {
            verdicts
                .into_iter()
                .filter_map(|(id, verdict)| index_of(id).map(|i| (view(records, &statuses, i, None), verdict)))
                .collect()
        });
        let differs =
            differs[n].map(|other| ClientDifference { client: other_client, credential: other.map(|i| records[i]) });
        n += 1;
        entries.push(Entry::Resolved(Resolution {
            image: &input.image,
            reference,
            environment: &environment,
            credential,
            candidates,
            differs,
        }));
    }
    print(&ctx.out, &entries, ctx.out.format(args.output), args.show_secret)?;

    let invalid = inputs.len() - references.len();
    let unresolved = entries.iter().filter(|e| matches!(e, Entry::Resolved(r) if r.credential.is_none())).count();
    if unresolved > 0 {
        ctx.out.info(format!(
            "{unresolved} of {} image(s) have no active credential in environment {environment}.",
            references.len()
        ));
    }
    if invalid > 0 {
        ctx.out.info(format!("{invalid} of {} image reference(s) are not valid.", inputs.len()));
        return Ok(ExitCode::Input as u8);
    }
    Ok(if unresolved > 0 { ExitCode::Unresolved as u8 } else { 0 })
}

fn parse(image: &str) -> Result<Reference, String> {
    Reference::parse(image).map_err(|e| format!("invalid image reference {image:?}: {e}"))
}

/// The images on stdin, one per line; blank lines and `#` comments are skipped. A line that
/// is too long or not UTF-8 is a bad image like any other; only a failed read stops.
fn read_stdin() -> Result<Vec<Input>, Failure> {
    let mut inputs = Vec::new();
    let mut stdin = std::io::stdin().lock();
    let mut bytes = Vec::new();
    for number in 1.. {
        bytes.clear();
        let read = stdin
            .read_until(b'\n', &mut bytes)
            .map_err(|e| Failure::operational(format!("cannot read images from stdin: {e}")))?;
        if read == 0 {
            break;
        }
        let origin = Origin::Line(number);
        let line = String::from_utf8_lossy(&bytes);
        let image = line.trim();
        if image.is_empty() || image.starts_with('#') {
            continue;
        }
        let parsed = if std::str::from_utf8(&bytes).is_err() {
            Err("the line is not UTF-8 text".to_owned())
        } else if image.len() > MAX_LINE {
            Err(format!("image reference is longer than {MAX_LINE} characters"))
        } else {
            parse(image)
        };
        let image = if image.len() > MAX_LINE { image.chars().take(64).chain(['…']).collect() } else { image.into() };
        inputs.push(Input { image, origin, parsed });
    }
    Ok(inputs)
}

/// The chosen credential is always `active` (a newer one with the same scope would have been
/// chosen instead), so statuses are only computed for `--explain`.
fn view<'a>(
    records: &[&'a Credential],
    statuses: &[Status],
    i: usize,
    password: Option<&'a Secret>,
) -> CredentialView<'a> {
    CredentialView {
        credential: records[i],
        status: statuses.get(i).copied().unwrap_or(Status::Active),
        password: password.map(Secret::expose),
    }
}

/// One image of the batch, in input order.
enum Entry<'a> {
    Resolved(Resolution<'a>),
    Invalid { image: &'a str, origin: Origin, error: &'a str },
}

/// What `resolve` found for one image.
struct Resolution<'a> {
    image: &'a str,
    reference: &'a Reference,
    environment: &'a str,
    credential: Option<CredentialView<'a>>,
    /// Present under `--explain`.
    candidates: Option<Vec<(CredentialView<'a>, Verdict)>>,
    /// Under `--explain`: the other kind of client, when it would use another credential.
    differs: Option<ClientDifference<'a>>,
}

/// The answer of the client `resolve` was not asked about, when it is another one.
struct ClientDifference<'a> {
    client: Client,
    credential: Option<&'a Credential>,
}

impl ClientDifference<'_> {
    fn client_word(&self) -> &'static str {
        match self.client {
            Client::Docker => "docker",
            Client::Containers => "containers",
        }
    }

    /// Why the two kinds of client answer differently.
    fn why(&self) -> &'static str {
        match self.client {
            Client::Docker => {
                "docker asks the credential helper per registry only, so scoped credentials do not apply to it; \
                 `regcred exec --image IMAGE` makes it use the scoped one"
            }
            Client::Containers => {
                "podman, skopeo and buildah with regcred's exported auth.json (and `regcred exec --image`) \
                 apply scoped credentials; docker asks per registry only"
            }
        }
    }
}

/// JSON Lines in input order, a bad image as `{"image","line"|"argument","error"}` in its
/// place; in a table or plain lines, the bad images are `error:` lines on stderr.
fn print(shell: &Shell, entries: &[Entry<'_>], format: Format, show_secret: bool) -> Result<(), Failure> {
    let results: Vec<&Resolution<'_>> = entries
        .iter()
        .filter_map(|e| match e {
            Entry::Resolved(r) => Some(r),
            Entry::Invalid { .. } => None,
        })
        .collect();
    if format != Format::Json {
        for entry in entries {
            if let Entry::Invalid { origin, error, .. } = entry {
                // An argument is named by the quoted image in the message; a line by its number.
                shell.error(&match origin {
                    Origin::Argument(_) => input_error!("{error}"),
                    Origin::Line(n) => input_error!("stdin line {n}: {error}"),
                });
            }
        }
    }
    match format {
        Format::Json => {
            let mut text = String::new();
            for entry in entries {
                text.push_str(&match entry {
                    Entry::Resolved(r) => json_line(&ResolutionJson::from(r))?,
                    Entry::Invalid { image, origin, error } => json_line(&InvalidJson {
                        image,
                        line: match origin {
                            Origin::Line(n) => Some(*n),
                            Origin::Argument(_) => None,
                        },
                        argument: match origin {
                            Origin::Argument(n) => Some(*n),
                            Origin::Line(_) => None,
                        },
                        error,
                    })?,
                });
            }
            shell.data(&text)
        }
        Format::Plain => {
            let text = table::plain(results.iter().map(|r| {
                let mut fields = vec![r.image.to_owned(), r.reference.canonical()];
                match &r.credential {
                    Some(v) => {
                        fields.extend([
                            v.credential.id.to_string(),
                            v.credential.address.clone(),
                            v.credential.username.clone(),
                        ]);
                        if show_secret {
                            fields.push(v.password.unwrap_or("").to_owned());
                        }
                    }
                    None => fields.extend(["-".into(), "-".into(), "-".into()]),
                }
                fields
            }));
            shell.data(&text)?;
            explanations(shell, &results)
        }
        Format::Table => {
            if results.is_empty() {
                return Ok(());
            }
            let column = |header, give, cell: &dyn Fn(&Resolution<'_>) -> String| {
                Column::new(header, give, results.iter().map(|r| cell(r)))
            };
            let field = |f: fn(&CredentialView<'_>) -> String| {
                move |r: &Resolution<'_>| r.credential.as_ref().map_or_else(|| "-".to_owned(), f)
            };
            let mut columns = vec![
                column("IMAGE", Give::Wrap, &|r| r.image.to_owned()),
                column("CREDENTIAL", Give::Truncate(16), &|r| {
                    r.credential.as_ref().map_or_else(|| "none".to_owned(), |v| credential_label(v.credential))
                })
                .colors(results.iter().map(|r| r.credential.is_none().then_some(comfy_table::Color::Red))),
                column("ADDRESS", Give::Wrap, &field(|v| v.credential.address.clone())),
                column("USERNAME", Give::Truncate(12), &field(|v| v.credential.username.clone())),
            ];
            if show_secret {
                columns.push(column("PASSWORD", Give::Never, &|r| {
                    r.credential.as_ref().and_then(|v| v.password).unwrap_or("").to_owned()
                }));
            }
            shell.data(&table::columns(columns, shell.table_style()))?;
            explanations(shell, &results)
        }
    }
}

/// `--explain` in words, for the table and plain formats.
fn explanations(shell: &Shell, results: &[&Resolution<'_>]) -> Result<(), Failure> {
    let mut lines = Lines::new();
    for r in results {
        let Some(candidates) = &r.candidates else { continue };
        let registry = r.reference.registry_address();
        lines.blank();
        lines.line(format!(
            "{} → {} (registry {registry}, environment {})",
            r.image,
            r.reference.canonical(),
            r.environment
        ));
        if candidates.is_empty() {
            lines.line(format!(
                "  no credential for {registry} in this environment; add one with: regcred add {registry} -u USER"
            ));
        }
        for (view, verdict) in candidates {
            let c = view.credential;
            let mark = if *verdict == Verdict::Chosen { "✓" } else { "✗" };
            lines.line(format!(
                "  {mark} {} {} @ {}: {}",
                c.id,
                c.username,
                c.address,
                verdict_words(*verdict, r.reference)
            ));
        }
        if let Some(d) = &r.differs {
            let other = d.credential.map_or_else(
                || "no credential".to_owned(),
                |c| format!("credential {} {} @ {}", c.id, c.username, c.address),
            );
            lines.line(format!("  ! {} would use {other}: {}", d.client_word(), d.why()));
        }
    }
    if lines.is_empty() { Ok(()) } else { shell.data(lines.as_str()) }
}

fn verdict_word(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Chosen => "chosen",
        Verdict::Inactive => "inactive",
        Verdict::Overridden { .. } => "overridden",
        Verdict::LessSpecific { .. } => "less_specific",
        Verdict::ScopeMismatch => "scope_mismatch",
    }
}

fn verdict_words(verdict: Verdict, reference: &Reference) -> String {
    match verdict {
        Verdict::Chosen => "chosen: the most specific scope, most recently added among those".into(),
        Verdict::Inactive => "not used: deactivated".into(),
        Verdict::Overridden { by } => {
            format!("not used: overridden by credential {by}, added later for the same address")
        }
        Verdict::LessSpecific { than } => format!("not used: credential {than} has a more specific scope"),
        Verdict::ScopeMismatch => format!("not used: its scope does not cover {}", reference.repository()),
    }
}

#[derive(Serialize)]
struct InvalidJson<'a> {
    image: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    line: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    argument: Option<usize>,
    error: &'a str,
}

#[derive(Serialize)]
struct ReferenceJson<'a> {
    registry: &'a str,
    repository: &'a str,
    tag: Option<&'a str>,
    digest: Option<&'a str>,
    canonical: String,
}

#[derive(Serialize)]
struct CandidateJson<'a> {
    #[serde(flatten)]
    credential: CredentialJson<'a>,
    reason: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    by: Option<u64>,
}

#[derive(Serialize)]
struct ResolutionJson<'a> {
    image: &'a str,
    reference: ReferenceJson<'a>,
    environment: &'a str,
    credential: Option<CredentialJson<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    candidates: Option<Vec<CandidateJson<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    differs: Option<DifferenceJson>,
}

/// `"differs"` under `--explain`: the other client's answer, when it is another one.
#[derive(Serialize)]
struct DifferenceJson {
    client: &'static str,
    credential_id: Option<u64>,
    why: &'static str,
}

impl<'a> From<&'a Resolution<'a>> for ResolutionJson<'a> {
    fn from(r: &'a Resolution<'a>) -> Self {
        let reference = r.reference;
        ResolutionJson {
            image: r.image,
            reference: ReferenceJson {
                registry: reference.registry(),
                repository: reference.repository(),
                tag: reference.tag(),
                digest: reference.digest(),
                canonical: reference.canonical(),
            },
            environment: r.environment,
            credential: r.credential.as_ref().map(CredentialJson::from),
            candidates: r.candidates.as_ref().map(|list| {
                list.iter()
                    .map(|(view, verdict)| CandidateJson {
                        credential: CredentialJson::from(view),
                        reason: verdict_word(*verdict),
                        by: match verdict {
                            Verdict::Overridden { by } => Some(*by),
                            Verdict::LessSpecific { than } => Some(*than),
                            _ => None,
                        },
                    })
                    .collect()
            }),
            differs: r.differs.as_ref().map(|d| DifferenceJson {
                client: d.client_word(),
                credential_id: d.credential.map(|c| c.id),
                why: d.why(),
            }),
        }
    }
}
