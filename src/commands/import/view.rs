//! How an import report looks: one row per entry found, imported or skipped and why.

use comfy_table::Color;
use serde::Serialize;

use crate::cli::Format;
use crate::commands::view::json_line;
use crate::exit::Failure;
use crate::shell::Shell;
use crate::table::{self, Column, Give};

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

pub fn print(shell: &Shell, rows: &[ImportRow], format: Format) -> Result<(), Failure> {
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
            shell.data(&json_line(&objects)?)
        }
        Format::Plain => {
            shell.data(&table::plain(rows.iter().map(|r| [r.outcome, r.address.as_str(), &r.username, &r.detail])))
        }
        Format::Table => {
            let color = |r: &ImportRow| Some(if r.outcome == "imported" { Color::Green } else { Color::Yellow });
            let columns = vec![
                Column::new("", Give::Never, rows.iter().map(|r| r.outcome)).colors(rows.iter().map(color)),
                Column::new("ADDRESS", Give::Wrap, rows.iter().map(|r| &r.address)),
                Column::new("USERNAME", Give::Truncate(12), rows.iter().map(|r| &r.username)),
                Column::new("DETAIL", Give::Words, rows.iter().map(|r| &r.detail)),
            ];
            shell.data(&table::columns(columns, shell.table_style()))
        }
    }
}
