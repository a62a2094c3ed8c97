//! How TLS settings and a presented certificate chain look (`tls show`, `tls fetch`).

use comfy_table::Color;
use serde::Serialize;
use time::OffsetDateTime;

use crate::cli::Format;
use crate::commands::view::{json_line, rfc3339, short_time};
use crate::exit::Failure;
use crate::registry::CertificateInfo;
use crate::shell::{Lines, Shell};
use crate::store::TlsSetting;
use crate::table::{self, Column, Give};

/// One TLS setting with its certificates parsed.
pub struct TlsView<'a> {
    pub setting: &'a TlsSetting,
    pub certificates: Vec<CertificateInfo>,
}

/// `tls show`: every setting, or one in full (`full`, with its PEM in JSON).
pub fn print_settings(shell: &Shell, views: &[TlsView<'_>], format: Format, full: bool) -> Result<(), Failure> {
    match format {
        Format::Json => {
            let objects: Vec<_> = views.iter().map(|v| TlsJson::new(v, full)).collect();
            if full && objects.len() == 1 {
                shell.data(&json_line(&objects[0])?)
            } else {
                shell.data(&json_line(&objects)?)
            }
        }
        Format::Plain => shell.data(&table::plain(views.iter().map(|v| {
            let first = v.certificates.first();
            [
                v.setting.address.clone(),
                tls_mode(v.setting).to_owned(),
                first.map_or("-".into(), |c| c.sha256.clone()),
                first.map_or("-".into(), |c| rfc3339(c.not_after)),
            ]
        }))),
        Format::Table if full => {
            for v in views {
                let mut rows = vec![
                    ("address".to_owned(), v.setting.address.clone()),
                    ("environment".to_owned(), v.setting.environment.clone()),
                    ("tls".to_owned(), tls_mode_words(v.setting).to_owned()),
                    ("updated".to_owned(), rfc3339(v.setting.updated)),
                ];
                for (n, c) in v.certificates.iter().enumerate() {
                    rows.push((format!("certificate {}", n + 1), c.subject.clone()));
                    rows.push(("  issuer".to_owned(), c.issuer.clone()));
                    rows.push(("  valid".to_owned(), format!("{} to {}", rfc3339(c.not_before), rfc3339(c.not_after))));
                    rows.push(("  sha256".to_owned(), c.sha256.clone()));
                }
                shell.data(&table::pairs(rows.into_iter().map(|(k, v)| (k, v, None)), shell.table_style()))?;
            }
            Ok(())
        }
        Format::Table => {
            if views.is_empty() {
                return shell
                    .data("No TLS settings: every registry is verified against the system's CA certificates.\n");
            }
            let columns = vec![
                Column::new("ADDRESS", Give::Wrap, views.iter().map(|v| &v.setting.address)),
                Column::new("TLS", Give::Words, views.iter().map(|v| tls_mode_words(v.setting)))
                    .colors(views.iter().map(|v| v.setting.insecure.then_some(Color::Yellow))),
                Column::new(
                    "CERTIFICATE",
                    Give::Truncate(16),
                    views.iter().map(|v| v.certificates.first().map_or("-".into(), |c| c.subject.clone())),
                ),
                Column::new(
                    "EXPIRES",
                    Give::DateOnly,
                    views
                        .iter()
                        .map(|v| v.certificates.iter().map(|c| c.not_after).min().map_or("-".into(), short_time)),
                ),
            ];
            shell.data(&table::columns(columns, shell.table_style()))
        }
    }
}

/// The certificate chain a registry presented (`tls fetch`), server's first.
pub fn print_chain(shell: &Shell, address: &str, chain: &[CertificateInfo], format: Format) -> Result<(), Failure> {
    match format {
        Format::Json => {
            let objects: Vec<_> = chain.iter().map(CertificateJson::from).collect();
            shell.data(&json_line(&objects)?)
        }
        Format::Plain => shell.data(&table::plain(chain.iter().map(|c| {
            [c.sha256.clone(), c.subject.clone(), c.issuer.clone(), rfc3339(c.not_before), rfc3339(c.not_after)]
        }))),
        Format::Table => {
            let mut lines = Lines::new();
            lines.line(format!("{address} presents {} certificate(s):", chain.len()));
            let now = OffsetDateTime::now_utc();
            for (n, c) in chain.iter().enumerate() {
                let role = match (n, c.self_signed()) {
                    (0, true) => "server, self-signed",
                    (0, false) => "server",
                    (_, true) => "root CA, self-signed",
                    (_, false) => "intermediate CA",
                };
                let validity = if now > c.not_after {
                    " (EXPIRED)"
                } else if now < c.not_before {
                    " (NOT YET VALID)"
                } else {
                    ""
                };
                lines.blank();
                lines.line(format!("  {}. {role}", n + 1));
                lines.line(format!("     subject  {}", c.subject));
                lines.line(format!("     issuer   {}", c.issuer));
                lines.line(format!("     valid    {} to {}{validity}", rfc3339(c.not_before), rfc3339(c.not_after)));
                lines.line(format!("     SHA-256  {}", c.sha256));
            }
            lines.blank();
            shell.data(lines.as_str())
        }
    }
}

fn tls_mode(setting: &TlsSetting) -> &'static str {
    if setting.insecure { "insecure" } else { "ca" }
}

fn tls_mode_words(setting: &TlsSetting) -> &'static str {
    if setting.insecure { "insecure (HTTPS unverified, then HTTP)" } else { "trusted CA" }
}

#[derive(Serialize)]
struct CertificateJson<'a> {
    subject: &'a str,
    issuer: &'a str,
    not_before: String,
    not_after: String,
    sha256: &'a str,
    ca: bool,
}

impl<'a> From<&'a CertificateInfo> for CertificateJson<'a> {
    fn from(c: &'a CertificateInfo) -> Self {
        CertificateJson {
            subject: &c.subject,
            issuer: &c.issuer,
            not_before: rfc3339(c.not_before),
            not_after: rfc3339(c.not_after),
            sha256: &c.sha256,
            ca: c.is_ca,
        }
    }
}

#[derive(Serialize)]
struct TlsJson<'a> {
    environment: &'a str,
    address: &'a str,
    insecure: bool,
    certificates: Vec<CertificateJson<'a>>,
    updated: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pem: Option<&'a str>,
}

impl<'a> TlsJson<'a> {
    fn new(v: &'a TlsView<'a>, full: bool) -> Self {
        TlsJson {
            environment: &v.setting.environment,
            address: &v.setting.address,
            insecure: v.setting.insecure,
            certificates: v.certificates.iter().map(CertificateJson::from).collect(),
            updated: rfc3339(v.setting.updated),
            pem: if full { v.setting.ca_cert.as_deref() } else { None },
        }
    }
}
