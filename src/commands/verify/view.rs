//! How a verification looks: `✓ valid: …` for people, one row or one JSON object for
//! scripts. A rejection or a failure is reported as an error by `verify` itself.

use regcred_core::Status;
use serde::Serialize;

use crate::cli::Format;
use crate::commands::view::{CredentialJson, CredentialView, json_line, status_word};
use crate::exit::Failure;
use crate::registry::{Auth, Channel, Pull, RegistryError, Report, Verdict};
use crate::shell::{Lines, Shell};
use crate::table;

/// What `verify` found.
pub struct Verification<'a> {
    /// The argument as given.
    pub target: &'a str,
    pub environment: &'a str,
    /// `host[:port]`.
    pub registry: &'a str,
    /// The canonical image, when the argument was one.
    pub image: Option<String>,
    pub credential: CredentialView<'a>,
    /// `system`, `pinned` or `insecure`.
    pub trust: &'static str,
    pub outcome: &'a Result<Report, RegistryError>,
}

pub fn print(shell: &Shell, v: &Verification<'_>, format: Format) -> Result<(), Failure> {
    let c = v.credential.credential;
    match format {
        Format::Json => shell.data(&json_line(&VerificationJson::from(v))?),
        Format::Plain => {
            let (auth, channel) = match v.outcome {
                Ok(report) => (auth_word(&report.auth), channel_word(report.channel)),
                Err(_) => ("-", "-"),
            };
            let id = c.id.to_string();
            shell.data(&table::plain([[verification_result(v.outcome), &id, v.registry, &c.username, auth, channel]]))
        }
        Format::Table => {
            let Ok(report) = v.outcome else { return Ok(()) };
            let who = match &c.name {
                Some(name) => format!("credential {} ({name}: {} @ {})", c.id, c.username, c.address),
                None => format!("credential {} ({} @ {})", c.id, c.username, c.address),
            };
            let mut lines = Lines::new();
            match &report.verdict {
                Verdict::Valid => {
                    lines.marked("", &shell.mark(true), format!("valid: {} accepts {who}", v.registry));
                    lines.line(format!("  {}", how_words(report)));
                }
                Verdict::NotRequired => lines.marked(
                    "",
                    &shell.mark(true),
                    format!(
                        "not checked: {} asks for no credential (GET {} answered without one), so {who} was not tried",
                        v.registry, report.url
                    ),
                ),
                Verdict::Rejected(_) => return Ok(()),
            }
            if let Some(image) = &v.image {
                match report.pull {
                    Some(Pull::Allowed) => lines.line(format!("  pull: {image} may be pulled")),
                    Some(Pull::NotFound) => lines.line(format!(
                        "  pull: access is granted, but {image} does not exist there (manifest unknown)"
                    )),
                    None => {}
                }
            }
            if v.credential.status != Status::Active {
                lines.line(format!(
                    "  note: the credential is {}, so pulls do not use it",
                    status_word(v.credential.status)
                ));
            }
            shell.data(lines.as_str())
        }
    }
}

/// How a verification reached the registry and authenticated, in words.
pub fn how_words(report: &Report) -> String {
    let auth = match &report.auth {
        Auth::None => "no authentication asked".to_owned(),
        Auth::Basic => "Basic authentication".to_owned(),
        Auth::Bearer { realm } => format!("Bearer token from {realm}"),
    };
    let channel = match report.channel {
        Channel::Https => "over HTTPS with a verified certificate",
        Channel::HttpsUnverified => "over HTTPS without a certificate check, as the registry is insecure",
        Channel::Http => "over plain HTTP, as the registry is insecure",
    };
    format!("{auth} {channel}")
}

fn auth_word(auth: &Auth) -> &'static str {
    match auth {
        Auth::None => "none",
        Auth::Basic => "basic",
        Auth::Bearer { .. } => "bearer",
    }
}

fn channel_word(channel: Channel) -> &'static str {
    match channel {
        Channel::Https => "https",
        Channel::HttpsUnverified => "https_unverified",
        Channel::Http => "http",
    }
}

fn verification_result(outcome: &Result<Report, RegistryError>) -> &'static str {
    match outcome {
        Ok(report) => match report.verdict {
            Verdict::Valid => "valid",
            Verdict::NotRequired => "not_required",
            Verdict::Rejected(_) => "rejected",
        },
        Err(e) if e.is_tls() => "tls_error",
        Err(RegistryError::Protocol { .. }) => "protocol_error",
        Err(_) => "unreachable",
    }
}

#[derive(Serialize)]
struct VerificationJson<'a> {
    target: &'a str,
    environment: &'a str,
    registry: &'a str,
    image: Option<&'a str>,
    credential: CredentialJson<'a>,
    /// `valid`, `not_required`, `rejected`, `unreachable`, `tls_error`, `protocol_error`.
    result: &'static str,
    /// What happened, in words.
    message: String,
    /// For failures: `dns`, `connection_refused`, `timeout`, `untrusted_certificate`, ….
    error: Option<&'static str>,
    tls: &'static str,
    url: Option<&'a str>,
    transport: Option<&'static str>,
    auth: Option<&'static str>,
    token_service: Option<&'a str>,
    pull: Option<&'static str>,
}

impl<'a> From<&'a Verification<'a>> for VerificationJson<'a> {
    fn from(v: &'a Verification<'a>) -> Self {
        let (message, error, url, transport, auth, token_service, pull) = match v.outcome {
            Ok(report) => (
                match &report.verdict {
                    Verdict::Valid => format!("{} accepts the credential: {}", v.registry, how_words(report)),
                    Verdict::NotRequired => format!("{} asks for no credential", v.registry),
                    Verdict::Rejected(why) => format!("{} rejected the credential: {why}", v.registry),
                },
                None,
                Some(report.url.as_str()),
                Some(channel_word(report.channel)),
                Some(auth_word(&report.auth)),
                match &report.auth {
                    Auth::Bearer { realm } => Some(realm.as_str()),
                    _ => None,
                },
                report.pull.map(|p| match p {
                    Pull::Allowed => "allowed",
                    Pull::NotFound => "not_found",
                }),
            ),
            Err(e) => (e.to_string(), Some(e.kind()), None, None, None, None, None),
        };
        VerificationJson {
            target: v.target,
            environment: v.environment,
            registry: v.registry,
            image: v.image.as_deref(),
            credential: CredentialJson::from(&v.credential),
            result: verification_result(v.outcome),
            message,
            error,
            tls: v.trust,
            url,
            transport,
            auth,
            token_service,
            pull,
        }
    }
}
