//! `regcred` with no command: where am I, what do I have, what can I do.

use crate::context::{Context, EnvCredentials};
use crate::exit::Failure;

pub fn run(ctx: &Context) -> Result<(), Failure> {
    let registries = ctx.store.load()?;
    let environment = ctx.environment(&registries)?;
    let statuses = EnvCredentials::new(&registries, &environment)?.statuses();
    let count = |word: &str| statuses.iter().filter(|s| crate::commands::view::status_word(**s) == word).count();
    let text = format!(
        "regcred {} — container registry credentials\n\n\
         environment  {environment}{}\n\
         credentials  {} ({} active, {} overridden, {} inactive)\n\
         store        {}\n\
         new secrets  {}\n\n\
         regcred add [ADDRESS] -u USER     add a credential (prompts for the password)\n\
         regcred list                      list credentials and their status\n\
         regcred resolve IMAGE --explain   which credential a pull would use, and why\n\
         regcred env list                  environments\n\
         regcred --help                    every command\n",
        env!("CARGO_PKG_VERSION"),
        if environment == registries.current_environment { " (current)" } else { " (from -e/REGCRED_ENV)" },
        statuses.len(),
        count("active"),
        count("overridden"),
        count("inactive"),
        ctx.store.file().display(),
        ctx.secret_store,
    );
    ctx.out.data(&text)
}
