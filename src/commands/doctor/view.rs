//! How `doctor`'s findings look.

use serde::Serialize;

use crate::cli::Format;
use crate::commands::view::json_line;
use crate::exit::Failure;
use crate::shell::{Lines, Shell};
use crate::table;

/// One finding of `doctor`.
pub struct Finding {
    pub ok: bool,
    pub check: String,
    pub detail: String,
}

pub fn print(shell: &Shell, findings: &[Finding], format: Format) -> Result<(), Failure> {
    match format {
        Format::Json => {
            #[derive(Serialize)]
            struct F<'a> {
                ok: bool,
                check: &'a str,
                detail: &'a str,
            }
            let objects: Vec<_> = findings.iter().map(|f| F { ok: f.ok, check: &f.check, detail: &f.detail }).collect();
            shell.data(&json_line(&objects)?)
        }
        Format::Plain => shell.data(&table::plain(
            findings.iter().map(|f| [if f.ok { "ok" } else { "problem" }, f.check.as_str(), &f.detail]),
        )),
        Format::Table => {
            let mut lines = Lines::new();
            for f in findings {
                lines.marked("", &shell.mark(f.ok), format!("{}: {}", f.check, f.detail));
            }
            shell.data(lines.as_str())
        }
    }
}
