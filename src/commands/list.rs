//! `regcred list` and `regcred show`: read-only, never touch the secret store.

use regcred_core::Status;

use crate::cli::{Format, ListArgs, ShowArgs};
use crate::commands::select;
use crate::commands::view::{
    CredentialJson, CredentialView, json_line, rfc3339, secret_words, short_time, status_color, status_word,
};
use crate::context::{Context, EnvCredentials};
use crate::exit::Failure;
use crate::shell::Shell;
use crate::table::{self, Column, Give};

pub fn run(args: ListArgs, ctx: &Context) -> Result<(), Failure> {
    let registries = ctx.store.load()?;
    let environments: Vec<String> = if args.all_envs {
        registries.environments.iter().map(|e| e.name.clone()).collect()
    } else {
        vec![ctx.environment(&registries)?]
    };
    let mut views = Vec::new();
    for environment in &environments {
        let env_credentials = EnvCredentials::new(&registries, environment)?;
        let statuses = env_credentials.statuses();
        views.extend(env_credentials.records.iter().zip(statuses).map(|(credential, status)| CredentialView {
            credential,
            status,
            password: None,
        }));
    }
    print_list(&ctx.out, &views, ctx.out.format(args.output), args.all_envs)
}

pub fn show(args: ShowArgs, ctx: &Context) -> Result<(), Failure> {
    let registries = ctx.store.load()?;
    let environment = ctx.environment(&registries)?;
    let credential = select(&registries, &environment, &args.selector)?;
    let env_credentials = EnvCredentials::new(&registries, &environment)?;
    let status = env_credentials.status_of(credential.id).unwrap_or(Status::Inactive);
    print_one(&ctx.out, &CredentialView { credential, status, password: None }, ctx.out.format(args.output))
}

/// `list`: ID, (ENV,) NAME, ADDRESS, USERNAME, EMAIL, STATUS, ADDED.
fn print_list(shell: &Shell, views: &[CredentialView<'_>], format: Format, show_env: bool) -> Result<(), Failure> {
    let or_dash = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".into());
    match format {
        Format::Json => {
            let objects: Vec<_> = views.iter().map(CredentialJson::from).collect();
            shell.data(&json_line(&objects)?)
        }
        Format::Plain => shell.data(&table::plain(views.iter().map(|v| {
            let c = v.credential;
            let mut fields = vec![c.id.to_string()];
            if show_env {
                fields.push(c.environment.clone());
            }
            fields.extend([
                or_dash(&c.name),
                c.address.clone(),
                c.username.clone(),
                or_dash(&c.email),
                status_word(v.status).into(),
                rfc3339(c.added),
            ]);
            fields
        }))),
        Format::Table => {
            if views.is_empty() {
                return shell.data("No credentials.\n");
            }
            let column = |header, give, cell: &dyn Fn(&CredentialView<'_>) -> String| {
                Column::new(header, give, views.iter().map(cell))
            };
            let mut columns = vec![column("ID", Give::Never, &|v| v.credential.id.to_string())];
            if show_env {
                columns.push(column("ENV", Give::Truncate(12), &|v| v.credential.environment.clone()));
            }
            columns.extend([
                column("NAME", Give::Truncate(12), &|v| or_dash(&v.credential.name)),
                // Addresses are what people scan for: they wrap last, at their dots and slashes.
                column("ADDRESS", Give::Wrap, &|v| v.credential.address.clone()),
                column("USERNAME", Give::Truncate(12), &|v| v.credential.username.clone()),
                // `show` has the e-mail; it is the first to go on a narrow terminal.
                column("EMAIL", Give::Drop, &|v| or_dash(&v.credential.email)),
                column("STATUS", Give::Never, &|v| status_word(v.status).into())
                    .colors(views.iter().map(|v| status_color(v.status))),
                column("ADDED", Give::DateOnly, &|v| short_time(v.credential.added)),
            ]);
            shell.data(&table::columns(columns, shell.table_style()))
        }
    }
}

/// `show`: one credential, every field.
fn print_one(shell: &Shell, view: &CredentialView<'_>, format: Format) -> Result<(), Failure> {
    let c = view.credential;
    if format == Format::Json {
        return shell.data(&json_line(&CredentialJson::from(view))?);
    }
    let status = match view.status {
        Status::Overridden { by } => format!("overridden (credential {by} is newer)"),
        other => status_word(other).to_owned(),
    };
    let or_dash = |value: &Option<String>| value.clone().unwrap_or_else(|| "-".into());
    let rows = [
        ("id", c.id.to_string()),
        ("name", or_dash(&c.name)),
        ("environment", c.environment.clone()),
        ("address", c.address.clone()),
        ("username", c.username.clone()),
        ("email", or_dash(&c.email)),
        ("status", status),
        ("secret", secret_words(c)),
        ("added", rfc3339(c.added)),
        ("updated", rfc3339(c.updated)),
    ];
    if format == Format::Plain {
        return shell.data(&table::plain(rows.iter().map(|(k, v)| [*k, v.as_str()])));
    }
    let color = |key: &str| if key == "status" { status_color(view.status) } else { None };
    shell.data(&table::pairs(rows.into_iter().map(|(k, v)| (k, v, color(k))), shell.table_style()))
}
