//! How things look: tables, JSON, plain lines, colour, and the `error:`/`hint:` lines.
//! Every byte regcred prints for a person or a script is decided here (the credential
//! helper protocol excepted).

use std::fmt::Display;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, PoisonError};

use comfy_table::{Attribute, Cell, Color, ContentArrangement, Table, presets};
use regcred_core::{Reference, Status, Verdict};
use serde::Serialize;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::cli::{ColorChoice, Format, OutputArgs};
use crate::exit::Failure;
use crate::registry::{Auth, CertificateInfo, Channel, Pull, RegistryError, Report};
use crate::store::{Credential, TlsSetting};

/// Output settings decided once per process.
pub struct Output {
    color: bool,
    quiet: bool,
    stdout_tty: bool,
}

/// A credential as the user sees it: metadata, status, and the secret only when asked.
pub struct CredentialView<'a> {
    pub credential: &'a Credential,
    pub status: Status,
    pub password: Option<&'a str>,
}

/// What `resolve` found for one image.
pub struct Resolution<'a> {
    pub image: &'a str,
    pub reference: Reference,
    pub environment: &'a str,
    pub credential: Option<CredentialView<'a>>,
    /// Present under `--explain`.
    pub candidates: Option<Vec<(CredentialView<'a>, Verdict)>>,
}

/// One row of `env list`.
pub struct EnvironmentRow<'a> {
    pub name: &'a str,
    pub current: bool,
    pub credentials: usize,
    pub created: OffsetDateTime,
}

/// One line of an import summary.
pub struct ImportRow {
    pub outcome: &'static str,
    pub address: String,
    pub username: String,
    /// The new id, or why it was skipped.
    pub detail: String,
}

impl ImportRow {
    pub fn imported(address: &str, username: &str, id: Option<u64>) -> Self {
        let detail = id.map_or_else(|| "would be added".to_owned(), |id| format!("credential {id}"));
        ImportRow { outcome: "imported", address: address.into(), username: username.into(), detail }
    }

    pub fn skipped(address: &str, username: &str, why: String) -> Self {
        ImportRow { outcome: "skipped", address: address.into(), username: username.into(), detail: why }
    }
}

/// One TLS setting with its certificates parsed.
pub struct TlsView<'a> {
    pub setting: &'a TlsSetting,
    pub certificates: Vec<CertificateInfo>,
}

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

/// One finding of `doctor`.
pub struct Finding {
    pub ok: bool,
    pub check: String,
    pub detail: String,
}

impl Output {
    pub fn new(choice: ColorChoice, quiet: bool) -> Self {
        let stdout_tty = std::io::stdout().is_terminal();
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let color = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => stdout_tty && !no_color,
        };
        QUIET.store(quiet, Ordering::Relaxed);
        Output { color, quiet, stdout_tty }
    }

    /// The format asked for, else a table on a terminal and plain lines in a pipe.
    pub fn format(&self, args: OutputArgs) -> Format {
        args.output.unwrap_or(if self.stdout_tty { Format::Table } else { Format::Plain })
    }

    /// A line for people about what happened, on stderr so stdout stays data.
    pub fn info(&self, message: impl Display) {
        if !self.quiet {
            eprintln!("{message}");
        }
    }

    pub fn warn(&self, message: impl Display) {
        if !self.quiet {
            eprintln!("warning: {message}");
        }
    }

    /// Data on stdout. A closed pipe (`regcred list | head`) is not an error.
    pub fn data(&self, text: &str) {
        if self.quiet {
            return;
        }
        let mut stdout = std::io::stdout().lock();
        let _ = stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush());
    }

    pub fn credentials(&self, views: &[CredentialView<'_>], format: Format, show_env: bool) {
        match format {
            Format::Json => {
                let objects: Vec<_> = views.iter().map(CredentialJson::from).collect();
                self.data(&json_line(&objects));
            }
            Format::Plain => {
                let mut text = String::new();
                for v in views {
                    let c = v.credential;
                    let mut fields = vec![c.id.to_string()];
                    if show_env {
                        fields.push(c.environment.clone());
                    }
                    fields.extend([
                        c.name.clone().unwrap_or_else(|| "-".into()),
                        c.address.clone(),
                        c.username.clone(),
                        c.email.clone().unwrap_or_else(|| "-".into()),
                        status_word(v.status).into(),
                        rfc3339(c.added),
                    ]);
                    text.push_str(&fields.join("\t"));
                    text.push('\n');
                }
                self.data(&text);
            }
            Format::Table => {
                if views.is_empty() {
                    self.data("No credentials.\n");
                    return;
                }
                let column = |header: &'static str, give: Give, cell: &dyn Fn(&CredentialView<'_>) -> String| Column {
                    header,
                    give,
                    cells: views.iter().map(cell).collect(),
                    colors: Vec::new(),
                };
                let mut columns = vec![column("ID", Give::Never, &|v| v.credential.id.to_string())];
                if show_env {
                    columns.push(column("ENV", Give::Truncate(12), &|v| v.credential.environment.clone()));
                }
                columns.extend([
                    column("NAME", Give::Truncate(12), &|v| v.credential.name.clone().unwrap_or_else(|| "-".into())),
                    // Addresses are what people scan for: they wrap last, at their dots and slashes.
                    column("ADDRESS", Give::Wrap(20), &|v| v.credential.address.clone()),
                    column("USERNAME", Give::Truncate(12), &|v| v.credential.username.clone()),
                    // `show` has the e-mail; it is the first to go on a narrow terminal.
                    column("EMAIL", Give::Drop, &|v| v.credential.email.clone().unwrap_or_else(|| "-".into())),
                    Column {
                        colors: views.iter().map(|v| self.status_color(v.status)).collect(),
                        ..column("STATUS", Give::Never, &|v| status_word(v.status).into())
                    },
                    column("ADDED", Give::DateOnly, &|v| short_time(v.credential.added)),
                ]);
                self.data(&self.fitted(columns));
            }
        }
    }

    pub fn credential(&self, view: &CredentialView<'_>, format: Format) {
        let c = view.credential;
        match format {
            Format::Json => self.data(&json_line(&CredentialJson::from(view))),
            Format::Plain | Format::Table => {
                let status = match view.status {
                    Status::Overridden { by } => format!("overridden (credential {by} is newer)"),
                    other => status_word(other).to_owned(),
                };
                let rows = [
                    ("id", c.id.to_string()),
                    ("name", c.name.clone().unwrap_or_else(|| "-".into())),
                    ("environment", c.environment.clone()),
                    ("address", c.address.clone()),
                    ("username", c.username.clone()),
                    ("email", c.email.clone().unwrap_or_else(|| "-".into())),
                    ("status", status),
                    ("secret", secret_words(c)),
                    ("added", rfc3339(c.added)),
                    ("updated", rfc3339(c.updated)),
                ];
                if format == Format::Plain {
                    let text: String = rows.iter().map(|(k, v)| format!("{k}\t{v}\n")).collect();
                    self.data(&text);
                } else {
                    let mut table = self.table();
                    for (key, value) in rows {
                        let cell = if key == "status" { self.colored(view.status, value) } else { Cell::new(value) };
                        table.add_row(vec![self.header(key), cell]);
                    }
                    self.data(&render(&table));
                }
            }
        }
    }

    pub fn resolutions(&self, results: &[Resolution<'_>], format: Format, show_secret: bool) {
        match format {
            Format::Json => {
                let text: String = results.iter().map(|r| json_line(&ResolutionJson::from(r))).collect();
                self.data(&text);
            }
            Format::Plain => {
                let mut text = String::new();
                for r in results {
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
                    text.push_str(&fields.join("\t"));
                    text.push('\n');
                }
                self.data(&text);
                self.explanations(results);
            }
            Format::Table => {
                let column = |header: &'static str, give: Give, cell: &dyn Fn(&Resolution<'_>) -> String| Column {
                    header,
                    give,
                    cells: results.iter().map(cell).collect(),
                    colors: Vec::new(),
                };
                let field = |f: fn(&CredentialView<'_>) -> String| {
                    move |r: &Resolution<'_>| r.credential.as_ref().map_or_else(|| "-".to_owned(), f)
                };
                let mut columns = vec![
                    column("IMAGE", Give::Wrap(20), &|r| r.image.to_owned()),
                    Column {
                        colors: results
                            .iter()
                            .map(|r| if r.credential.is_none() && self.color { Some(Color::Red) } else { None })
                            .collect(),
                        ..column("CREDENTIAL", Give::Truncate(16), &|r| {
                            r.credential.as_ref().map_or_else(|| "none".to_owned(), |v| credential_label(v.credential))
                        })
                    },
                    column("ADDRESS", Give::Wrap(20), &field(|v| v.credential.address.clone())),
                    column("USERNAME", Give::Truncate(12), &field(|v| v.credential.username.clone())),
                ];
                if show_secret {
                    columns.push(column("PASSWORD", Give::Never, &|r| {
                        r.credential.as_ref().and_then(|v| v.password).unwrap_or("").to_owned()
                    }));
                }
                self.data(&self.fitted(columns));
                self.explanations(results);
            }
        }
    }

    /// `--explain` in words, for the table and plain formats.
    fn explanations(&self, results: &[Resolution<'_>]) {
        let mut text = String::new();
        for r in results {
            let Some(candidates) = &r.candidates else { continue };
            text.push_str(&format!(
                "\n{} → {} (registry {}, environment {})\n",
                r.image,
                r.reference.canonical(),
                r.reference.registry_address(),
                r.environment
            ));
            if candidates.is_empty() {
                text.push_str(&format!(
                    "  no credential for {} in this environment; add one with: regcred add {} -u USER\n",
                    r.reference.registry_address(),
                    r.reference.registry_address()
                ));
            }
            for (view, verdict) in candidates {
                let c = view.credential;
                let mark = if *verdict == Verdict::Chosen { "✓" } else { "✗" };
                text.push_str(&format!(
                    "  {mark} {} {} @ {}: {}\n",
                    c.id,
                    c.username,
                    c.address,
                    verdict_words(*verdict, &r.reference)
                ));
            }
        }
        if !text.is_empty() {
            self.data(&text);
        }
    }

    pub fn environments(&self, rows: &[EnvironmentRow<'_>], format: Format) {
        match format {
            Format::Json => {
                #[derive(Serialize)]
                struct Env<'a> {
                    name: &'a str,
                    current: bool,
                    credentials: usize,
                    created: String,
                }
                let objects: Vec<_> = rows
                    .iter()
                    .map(|r| Env {
                        name: r.name,
                        current: r.current,
                        credentials: r.credentials,
                        created: rfc3339(r.created),
                    })
                    .collect();
                self.data(&json_line(&objects));
            }
            Format::Plain => {
                let text: String = rows
                    .iter()
                    .map(|r| format!("{}\t{}\t{}\n", r.name, if r.current { "current" } else { "-" }, r.credentials))
                    .collect();
                self.data(&text);
            }
            Format::Table => {
                let mut table = self.table();
                table.set_header(["", "NAME", "CREDENTIALS", "CREATED"].map(|h| self.header(h)));
                for r in rows {
                    let name = if r.current && self.color {
                        Cell::new(r.name).add_attribute(Attribute::Bold)
                    } else {
                        Cell::new(r.name)
                    };
                    table.add_row(vec![
                        Cell::new(if r.current { "*" } else { "" }),
                        name,
                        Cell::new(r.credentials),
                        Cell::new(short_time(r.created)),
                    ]);
                }
                self.data(&render(&table));
            }
        }
    }

    pub fn import_report(&self, rows: &[ImportRow], format: Format) {
        match format {
            Format::Json => {
                #[derive(Serialize)]
                struct Row<'a> {
                    outcome: &'a str,
                    address: &'a str,
                    username: &'a str,
                    detail: &'a str,
                }
                let objects: Vec<_> = rows
                    .iter()
                    .map(|r| Row { outcome: r.outcome, address: &r.address, username: &r.username, detail: &r.detail })
                    .collect();
                self.data(&json_line(&objects));
            }
            Format::Plain => {
                let text: String = rows
                    .iter()
                    .map(|r| format!("{}\t{}\t{}\t{}\n", r.outcome, r.address, r.username, r.detail))
                    .collect();
                self.data(&text);
            }
            Format::Table => {
                let mut table = self.table();
                table.set_header(["", "ADDRESS", "USERNAME", "DETAIL"].map(|h| self.header(h)));
                for r in rows {
                    let outcome = Cell::new(r.outcome);
                    let outcome = match (self.color, r.outcome) {
                        (true, "imported") => outcome.fg(Color::Green),
                        (true, _) => outcome.fg(Color::Yellow),
                        _ => outcome,
                    };
                    table.add_row(vec![outcome, Cell::new(&r.address), Cell::new(&r.username), Cell::new(&r.detail)]);
                }
                self.data(&render(&table));
            }
        }
    }

    pub fn findings(&self, findings: &[Finding], format: Format) {
        match format {
            Format::Json => {
                #[derive(Serialize)]
                struct F<'a> {
                    ok: bool,
                    check: &'a str,
                    detail: &'a str,
                }
                let objects: Vec<_> =
                    findings.iter().map(|f| F { ok: f.ok, check: &f.check, detail: &f.detail }).collect();
                self.data(&json_line(&objects));
            }
            Format::Plain => {
                let text: String = findings
                    .iter()
                    .map(|f| format!("{}\t{}\t{}\n", if f.ok { "ok" } else { "problem" }, f.check, f.detail))
                    .collect();
                self.data(&text);
            }
            Format::Table => {
                let mut text = String::new();
                for f in findings {
                    let mark = match (f.ok, self.color) {
                        (true, true) => "\x1b[32m✓\x1b[0m",
                        (false, true) => "\x1b[31m✗\x1b[0m",
                        (true, false) => "✓",
                        (false, false) => "✗",
                    };
                    text.push_str(&format!("{mark} {}: {}\n", f.check, f.detail));
                }
                self.data(&text);
            }
        }
    }

    pub fn tls_settings(&self, views: &[TlsView<'_>], format: Format, full: bool) {
        match format {
            Format::Json => {
                let objects: Vec<_> = views.iter().map(|v| TlsJson::new(v, full)).collect();
                if full && objects.len() == 1 {
                    self.data(&json_line(&objects[0]));
                } else {
                    self.data(&json_line(&objects));
                }
            }
            Format::Plain => {
                let mut text = String::new();
                for v in views {
                    let first = v.certificates.first();
                    text.push_str(&format!(
                        "{}\t{}\t{}\t{}\n",
                        v.setting.address,
                        tls_mode(v.setting),
                        first.map_or("-".into(), |c| c.sha256.clone()),
                        first.map_or("-".into(), |c| rfc3339(c.not_after)),
                    ));
                }
                self.data(&text);
            }
            Format::Table if full => {
                for v in views {
                    let mut table = self.table();
                    table.add_row(vec![self.header("address"), Cell::new(&v.setting.address)]);
                    table.add_row(vec![self.header("environment"), Cell::new(&v.setting.environment)]);
                    table.add_row(vec![self.header("tls"), Cell::new(tls_mode_words(v.setting))]);
                    table.add_row(vec![self.header("updated"), Cell::new(rfc3339(v.setting.updated))]);
                    for (n, c) in v.certificates.iter().enumerate() {
                        table.add_row(vec![self.header(&format!("certificate {}", n + 1)), Cell::new(&c.subject)]);
                        table.add_row(vec![self.header("  issuer"), Cell::new(&c.issuer)]);
                        table.add_row(vec![
                            self.header("  valid"),
                            Cell::new(format!("{} to {}", rfc3339(c.not_before), rfc3339(c.not_after))),
                        ]);
                        table.add_row(vec![self.header("  sha256"), Cell::new(&c.sha256)]);
                    }
                    self.data(&render(&table));
                }
            }
            Format::Table => {
                if views.is_empty() {
                    self.data("No TLS settings: every registry is verified against the system's CA certificates.\n");
                    return;
                }
                let mut table = self.table();
                table.set_header(["ADDRESS", "TLS", "CERTIFICATE", "EXPIRES"].map(|h| self.header(h)));
                for v in views {
                    let first = v.certificates.first();
                    let mode = Cell::new(tls_mode_words(v.setting));
                    let mode = if self.color && v.setting.insecure { mode.fg(Color::Yellow) } else { mode };
                    table.add_row(vec![
                        Cell::new(&v.setting.address),
                        mode,
                        Cell::new(first.map_or("-".into(), |c| c.subject.clone())),
                        Cell::new(v.certificates.iter().map(|c| c.not_after).min().map_or("-".into(), short_time)),
                    ]);
                }
                self.data(&render(&table));
            }
        }
    }

    /// The certificate chain a registry presented (`tls fetch`), server's first.
    pub fn certificate_chain(&self, address: &dyn Display, chain: &[CertificateInfo], format: Format) {
        match format {
            Format::Json => {
                let objects: Vec<_> = chain.iter().map(CertificateJson::from).collect();
                self.data(&json_line(&objects));
            }
            Format::Plain => {
                let text: String = chain
                    .iter()
                    .map(|c| {
                        format!(
                            "{}\t{}\t{}\t{}\t{}\n",
                            c.sha256,
                            c.subject,
                            c.issuer,
                            rfc3339(c.not_before),
                            rfc3339(c.not_after)
                        )
                    })
                    .collect();
                self.data(&text);
            }
            Format::Table => {
                let mut text = format!("{address} presents {} certificate(s):\n", chain.len());
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
                    text.push_str(&format!(
                        "\n  {}. {role}\n     subject  {}\n     issuer   {}\n     valid    {} to {}{validity}\n     SHA-256  {}\n",
                        n + 1,
                        c.subject,
                        c.issuer,
                        rfc3339(c.not_before),
                        rfc3339(c.not_after),
                        c.sha256
                    ));
                }
                text.push('\n');
                self.data(&text);
            }
        }
    }

    pub fn verification(&self, v: &Verification<'_>, format: Format) {
        let c = v.credential.credential;
        match format {
            Format::Json => self.data(&json_line(&VerificationJson::from(v))),
            Format::Plain => {
                let (result, auth, channel) = match v.outcome {
                    Ok(report) => {
                        (verification_result(v.outcome), auth_word(&report.auth), channel_word(report.channel))
                    }
                    Err(_) => (verification_result(v.outcome), "-", "-"),
                };
                self.data(&format!("{result}\t{}\t{}\t{}\t{auth}\t{channel}\n", c.id, v.registry, c.username));
            }
            Format::Table => {
                // Rejections and failures are reported as errors by the caller.
                let Ok(report) = v.outcome else { return };
                let who = match &c.name {
                    Some(name) => format!("credential {} ({name}: {} @ {})", c.id, c.username, c.address),
                    None => format!("credential {} ({} @ {})", c.id, c.username, c.address),
                };
                let mark = |ok: bool| match (ok, self.color) {
                    (true, true) => "\x1b[32m✓\x1b[0m",
                    (false, true) => "\x1b[31m✗\x1b[0m",
                    (true, false) => "✓",
                    (false, false) => "✗",
                };
                let mut text = match &report.verdict {
                    crate::registry::Verdict::Valid => {
                        format!("{} valid: {} accepts {who}\n  {}\n", mark(true), v.registry, how_words(report))
                    }
                    crate::registry::Verdict::NotRequired => format!(
                        "{} not checked: {} asks for no credential (GET {} answered without one), so {who} was not tried\n",
                        mark(true),
                        v.registry,
                        report.url
                    ),
                    crate::registry::Verdict::Rejected(_) => return,
                };
                if let Some(image) = &v.image {
                    text.push_str(&match report.pull {
                        Some(Pull::Allowed) => format!("  pull: {image} may be pulled\n"),
                        Some(Pull::NotFound) => {
                            format!("  pull: access is granted, but {image} does not exist there (manifest unknown)\n")
                        }
                        None => String::new(),
                    });
                }
                if v.credential.status != Status::Active {
                    text.push_str(&format!(
                        "  note: the credential is {}, so pulls do not use it\n",
                        status_word(v.credential.status)
                    ));
                }
                self.data(&text);
            }
        }
    }

    fn table(&self) -> Table {
        let mut table = Table::new();
        table.load_style(presets::NOTHING).set_content_arrangement(ContentArrangement::Dynamic);
        if self.color {
            table.enforce_styling();
        }
        if let Some(width) = self.terminal_width() {
            table.set_width(width);
        }
        table
    }

    /// `$COLUMNS` wins (as with ls and git), then the terminal's own width; in a pipe
    /// tables are not wrapped at all.
    fn terminal_width(&self) -> Option<u16> {
        if let Some(columns) = std::env::var("COLUMNS").ok().and_then(|c| c.parse::<u16>().ok()).filter(|&w| w > 0) {
            return Some(columns);
        }
        if !self.stdout_tty {
            return None;
        }
        terminal_size::terminal_size().map(|(terminal_size::Width(w), _)| w)
    }

    fn header(&self, text: &str) -> Cell {
        let cell = Cell::new(text);
        if self.color { cell.add_attribute(Attribute::Bold) } else { cell }
    }

    /// Lays out columns to fit the terminal (see `fit`) and renders them.
    fn fitted(&self, columns: Vec<Column>) -> String {
        let columns = fit(columns, self.terminal_width().map(usize::from));
        let mut table = self.table();
        table.set_header(columns.iter().map(|c| self.header(c.header)));
        let rows = columns.first().map_or(0, |c| c.cells.len());
        for row in 0..rows {
            table.add_row(columns.iter().map(|c| {
                let cell = Cell::new(&c.cells[row]);
                match c.colors.get(row).copied().flatten() {
                    Some(color) => cell.fg(color),
                    None => cell,
                }
            }));
        }
        render(&table)
    }

    fn status_color(&self, status: Status) -> Option<Color> {
        if !self.color {
            return None;
        }
        Some(match status {
            Status::Active => Color::Green,
            Status::Overridden { .. } => Color::Yellow,
            Status::Inactive => Color::DarkGrey,
        })
    }

    /// Colour marks status only on a terminal (or with `--color always`).
    fn colored(&self, status: Status, text: String) -> Cell {
        let cell = Cell::new_owned(text);
        match self.status_color(status) {
            Some(color) => cell.fg(color),
            None => cell,
        }
    }
}

/// A table without the trailing blanks comfy-table pads lines with.
fn render(table: &Table) -> String {
    let mut text = String::new();
    for line in table.trim_fmt().lines() {
        // A styled last cell (the bold header) keeps its padding inside the styling, out of
        // trim_fmt's reach.
        match line.strip_suffix("\x1b[0m") {
            Some(body) => {
                text.push_str(body.trim_end());
                text.push_str("\x1b[0m");
            }
            None => text.push_str(line),
        }
        text.push('\n');
    }
    text
}

/// One column of a table for people, before it is fitted to the terminal.
struct Column {
    header: &'static str,
    give: Give,
    cells: Vec<String>,
    /// Per row; empty for a column without colour.
    colors: Vec<Option<Color>>,
}

/// How a column gives way when its table is wider than the terminal. `fit` applies these
/// in the order of the variants, each only as far as needed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Give {
    /// `2026-11-23 15:45` becomes `2026-11-23`.
    DateOnly,
    /// Left out (the information is in `show` and in `-o plain`/`json`).
    Drop,
    /// Cut to no fewer than this many characters, ending in `…`.
    Truncate(usize),
    /// Wrapped at `.`, `/`, `:` and `@` onto lines of no fewer than this many characters.
    Wrap(usize),
    /// Always shown whole.
    Never,
}

/// The width comfy-table gives these columns: each padded by a space on either side (the
/// last one's trailing space counts even though `render` trims it).
fn table_width(columns: &[Column]) -> usize {
    columns.iter().map(|c| column_width(c) + 2).sum()
}

fn column_width(column: &Column) -> usize {
    column
        .cells
        .iter()
        .flat_map(|c| c.lines())
        .map(|l| l.chars().count())
        .chain([column.header.len()])
        .max()
        .unwrap_or(0)
}

/// Makes the columns fit `width` (no limit when `None`): shorter dates, then columns left
/// out, then truncation, then wrapping; cutting and wrapping take from the widest column of
/// their kind first. What still does not fit is left to comfy-table.
fn fit(mut columns: Vec<Column>, width: Option<usize>) -> Vec<Column> {
    let Some(width) = width else { return columns };
    let excess = |columns: &[Column]| table_width(columns).saturating_sub(width);
    if excess(&columns) > 0 {
        for column in columns.iter_mut().filter(|c| c.give == Give::DateOnly) {
            column.cells.iter_mut().for_each(|c| c.truncate(10));
        }
    }
    while excess(&columns) > 0 {
        let Some(index) = columns.iter().position(|c| c.give == Give::Drop) else { break };
        columns.remove(index);
    }
    shrink(&mut columns, width, |give| matches!(give, Give::Truncate(_)), truncate);
    shrink(&mut columns, width, |give| matches!(give, Give::Wrap(_)), wrap);
    columns
}

/// Narrows the columns `chosen` picks, one character at a time from the widest, down to
/// their minimums, until the table fits; then reshapes their cells with `reshape`.
fn shrink(columns: &mut [Column], width: usize, chosen: fn(Give) -> bool, reshape: fn(&str, usize) -> String) {
    let mut targets: Vec<Option<usize>> = columns.iter().map(|c| chosen(c.give).then(|| column_width(c))).collect();
    let minimum = |c: &Column| match c.give {
        Give::Truncate(min) | Give::Wrap(min) => min.max(c.header.len()),
        _ => usize::MAX,
    };
    let mut total = table_width(columns);
    while total > width {
        let widest = targets
            .iter()
            .enumerate()
            .filter_map(|(i, t)| t.filter(|&t| t > minimum(&columns[i])).map(|t| (t, i)))
            .max_by_key(|&(t, i)| (t, std::cmp::Reverse(i)));
        let Some((_, index)) = widest else { break };
        targets[index] = targets[index].map(|t| t - 1);
        total -= 1;
    }
    for (column, target) in columns.iter_mut().zip(targets) {
        if let Some(target) = target.filter(|&t| t < column_width(column)) {
            column.cells.iter_mut().for_each(|c| *c = reshape(c, target));
        }
    }
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_owned();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// Breaks `text` into lines of at most `width` characters, after a `.`, `/`, `:` or `@`
/// where it can (`registry.internal.` / `example.com:` / `5000/team`), else anywhere.
fn wrap(text: &str, width: usize) -> String {
    let width = width.max(1);
    let mut lines: Vec<String> = Vec::new();
    let mut line = String::new();
    for piece in text.split_inclusive(['.', '/', ':', '@']) {
        if line.chars().count() + piece.chars().count() <= width {
            line.push_str(piece);
            continue;
        }
        if !line.is_empty() {
            lines.push(std::mem::take(&mut line));
        }
        let mut rest: Vec<char> = piece.chars().collect();
        while rest.len() > width {
            lines.push(rest.drain(..width).collect());
        }
        line = rest.into_iter().collect();
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines.join("\n")
}

/// `-q` of this process, for the warnings of code that has no `Output` (store, secrets).
static QUIET: AtomicBool = AtomicBool::new(false);

/// Warns that a file holding credentials can be read by other users: once per file and
/// process, however often it is read.
pub fn warn_readable_by_others(path: &Path, mode: u32) {
    static WARNED: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());
    if QUIET.load(Ordering::Relaxed) {
        return;
    }
    let mut warned = WARNED.lock().unwrap_or_else(PoisonError::into_inner);
    if warned.iter().any(|p| p == path) {
        return;
    }
    warned.push(path.to_owned());
    eprintln!(
        "warning: {0} is readable by other users (mode {mode:04o}); make it private with: chmod 600 {0}",
        path.display()
    );
}

/// Prints a failure as `error:` and `hint:` lines on stderr.
pub fn report(failure: &Failure) {
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "error: {}", failure.message);
    if let Some(hint) = &failure.hint {
        let _ = writeln!(stderr, "hint: {hint}");
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
            crate::registry::Verdict::Valid => "valid",
            crate::registry::Verdict::NotRequired => "not_required",
            crate::registry::Verdict::Rejected(_) => "rejected",
        },
        Err(e) if e.is_tls() => "tls_error",
        Err(RegistryError::Protocol { .. }) => "protocol_error",
        Err(_) => "unreachable",
    }
}

fn tls_mode(setting: &TlsSetting) -> &'static str {
    if setting.insecure { "insecure" } else { "ca" }
}

fn tls_mode_words(setting: &TlsSetting) -> &'static str {
    if setting.insecure { "insecure (HTTPS unverified, then HTTP)" } else { "trusted CA" }
}

pub fn status_word(status: Status) -> &'static str {
    match status {
        Status::Active => "active",
        Status::Overridden { .. } => "overridden",
        Status::Inactive => "inactive",
    }
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

fn credential_label(c: &Credential) -> String {
    match &c.name {
        Some(name) => format!("{} ({name})", c.id),
        None => c.id.to_string(),
    }
}

/// Where a credential's secret comes from, for `show`.
fn secret_words(c: &Credential) -> String {
    match &c.secret_env {
        Some(var) => format!("from the environment variable {var}, read at each use"),
        None => format!("in the {}", secret_store_words(c)),
    }
}

pub fn secret_store_words(c: &Credential) -> &'static str {
    match c.secret_store {
        crate::secrets::SecretStoreKind::Keyring => "OS keyring",
        crate::secrets::SecretStoreKind::File => "secrets file (secrets.toml)",
        crate::secrets::SecretStoreKind::Keyutils => "kernel keyring (keyutils)",
        crate::secrets::SecretStoreKind::Pass => "password store (pass)",
    }
}

pub fn rfc3339(time: OffsetDateTime) -> String {
    time.format(&Rfc3339).unwrap_or_else(|_| time.unix_timestamp().to_string())
}

fn short_time(time: OffsetDateTime) -> String {
    format!("{:04}-{:02}-{:02} {:02}:{:02}", time.year(), time.month() as u8, time.day(), time.hour(), time.minute())
}

fn json_line<T: Serialize + ?Sized>(value: &T) -> String {
    // Serializing plain structs of strings and numbers cannot fail.
    let mut text = serde_json::to_string(value).unwrap_or_default();
    text.push('\n');
    text
}

#[derive(Serialize)]
struct CredentialJson<'a> {
    id: u64,
    name: Option<&'a str>,
    environment: &'a str,
    address: &'a str,
    username: &'a str,
    email: Option<&'a str>,
    status: &'static str,
    added: String,
    updated: String,
    /// Only for a credential added with `--secret-from-env`.
    #[serde(skip_serializing_if = "Option::is_none")]
    secret_from_env: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    password: Option<&'a str>,
}

impl<'a> From<&CredentialView<'a>> for CredentialJson<'a> {
    fn from(v: &CredentialView<'a>) -> Self {
        let c = v.credential;
        CredentialJson {
            id: c.id,
            name: c.name.as_deref(),
            environment: &c.environment,
            address: &c.address,
            username: &c.username,
            email: c.email.as_deref(),
            status: status_word(v.status),
            added: rfc3339(c.added),
            updated: rfc3339(c.updated),
            secret_from_env: c.secret_env.as_deref(),
            password: v.password,
        }
    }
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
}

impl<'a> From<&'a Resolution<'a>> for ResolutionJson<'a> {
    fn from(r: &'a Resolution<'a>) -> Self {
        let reference = &r.reference;
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
        }
    }
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
                    crate::registry::Verdict::Valid => {
                        format!("{} accepts the credential: {}", v.registry, how_words(report))
                    }
                    crate::registry::Verdict::NotRequired => format!("{} asks for no credential", v.registry),
                    crate::registry::Verdict::Rejected(why) => format!("{} rejected the credential: {why}", v.registry),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn columns(widths: &[(&'static str, Give, &str)]) -> Vec<Column> {
        widths
            .iter()
            .map(|(header, give, cell)| Column {
                header,
                give: *give,
                cells: vec![(*cell).to_owned()],
                colors: Vec::new(),
            })
            .collect()
    }

    #[test]
    fn wrap_breaks_after_dots_slashes_and_colons() {
        assert_eq!(
            wrap("registry.internal.example-corporation.com:5000/platform", 23),
            "registry.internal.\nexample-corporation.\ncom:5000/platform"
        );
        assert_eq!(wrap("quay.io/myorg", 20), "quay.io/myorg");
        assert_eq!(wrap("abcdefghij", 4), "abcd\nefgh\nij");
    }

    #[test]
    fn truncate_ends_in_an_ellipsis() {
        assert_eq!(truncate("myorg+deploy-robot", 8), "myorg+d…");
        assert_eq!(truncate("bob", 8), "bob");
    }

    #[test]
    fn fit_leaves_a_table_that_fits_alone() {
        let fitted = fit(columns(&[("ID", Give::Never, "1"), ("EMAIL", Give::Drop, "a@example.com")]), Some(80));
        assert_eq!(fitted.len(), 2);
        assert_eq!(fitted[1].cells[0], "a@example.com");
        let fitted = fit(columns(&[("ADDED", Give::DateOnly, "2026-11-23 15:45")]), None);
        assert_eq!(fitted[0].cells[0], "2026-11-23 15:45");
    }

    #[test]
    fn fit_gives_way_in_order_and_only_as_far_as_needed() {
        let table = || {
            columns(&[
                ("ID", Give::Never, "12"),
                ("NAME", Give::Truncate(12), "a-rather-long-credential-name"),
                ("ADDRESS", Give::Wrap(20), "registry.internal.example-corporation.com:5000/platform"),
                ("EMAIL", Give::Drop, "platform-team@example-corporation.com"),
                ("ADDED", Give::DateOnly, "2026-11-23 15:45"),
            ])
        };
        let full = table_width(&table());
        // A little too wide: only the time goes.
        let fitted = fit(table(), Some(full - 6));
        assert_eq!(fitted.len(), 5);
        assert_eq!(fitted[4].cells[0], "2026-11-23");
        // Narrower: the e-mail goes too, then the name is cut, then the address wraps.
        let fitted = fit(table(), Some(60));
        let headers: Vec<_> = fitted.iter().map(|c| c.header).collect();
        assert_eq!(headers, ["ID", "NAME", "ADDRESS", "ADDED"]);
        assert_eq!(fitted[1].cells[0], "a-rather-lo…");
        assert!(fitted[2].cells[0].lines().all(|l| l.chars().count() <= 60));
        assert!(table_width(&fitted) <= 60, "{}", table_width(&fitted));
    }
}
