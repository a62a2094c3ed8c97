//! `regcred` with no command: where am I, what do I have, what can I do.

use crate::commands::view::status_word;
use crate::context::{Context, EnvCredentials};
use crate::exit::Failure;
use crate::shell::Lines;

pub fn run(ctx: &Context) -> Result<(), Failure> {
    let registries = ctx.store.load()?;
    let environment = ctx.environment(&registries)?;
    let statuses = EnvCredentials::new(&registries, &environment)?.statuses();
    let count = |word: &str| statuses.iter().filter(|s| status_word(**s) == word).count();
    let mut lines = Lines::new();
    lines.line(format!("regcred {} — container registry credentials", env!("CARGO_PKG_VERSION")));
    lines.blank();
    lines.line(format!(
        "environment  {environment}{}",
        if environment == registries.current_environment { " (current)" } else { " (from -e/REGCRED_ENV)" }
    ));
    lines.line(format!(
        "credentials  {} ({} active, {} overridden, {} inactive)",
        statuses.len(),
        count("active"),
        count("overridden"),
        count("inactive")
    ));
    // The path came from --config-dir or the environment: escaped like any value.
    lines.line(format!("store        {}", ctx.store.file().display()));
    lines.line(format!("new secrets  {}", ctx.secret_store));
    lines.blank();
    for (command, what) in [
        ("regcred add [ADDRESS] -u USER", "add a credential (prompts for the password)"),
        ("regcred list", "list credentials and their status"),
        ("regcred resolve IMAGE --explain", "which credential a pull would use, and why"),
        ("regcred env list", "environments"),
        ("regcred --help", "every command"),
    ] {
        lines.line(format!("{command:<34}{what}"));
    }
    ctx.out.data(lines.as_str())
}
