//! How `env list` looks.

use comfy_table::Color;
use serde::Serialize;
use time::OffsetDateTime;

use crate::cli::Format;
use crate::commands::view::{json_line, rfc3339, short_time};
use crate::exit::Failure;
use crate::shell::Shell;
use crate::table::{self, Column, Give};

/// One row of `env list`.
pub struct EnvironmentRow<'a> {
    pub name: &'a str,
    pub current: bool,
    pub credentials: usize,
    pub created: OffsetDateTime,
}

pub fn print(shell: &Shell, rows: &[EnvironmentRow<'_>], format: Format) -> Result<(), Failure> {
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
            shell.data(&json_line(&objects)?)
        }
        Format::Plain => shell.data(&table::plain(rows.iter().map(|r| {
            [r.name.to_owned(), if r.current { "current" } else { "-" }.to_owned(), r.credentials.to_string()]
        }))),
        Format::Table => {
            let columns = vec![
                Column::new("", Give::Never, rows.iter().map(|r| if r.current { "*" } else { "" })),
                Column::new("NAME", Give::Never, rows.iter().map(|r| r.name))
                    .colors(rows.iter().map(|r| r.current.then_some(Color::Green))),
                Column::new("CREDENTIALS", Give::Never, rows.iter().map(|r| r.credentials.to_string())),
                Column::new("CREATED", Give::DateOnly, rows.iter().map(|r| short_time(r.created))),
            ];
            shell.data(&table::columns(columns, shell.table_style()))
        }
    }
}
