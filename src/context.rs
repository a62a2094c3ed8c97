//! What every command needs: the vault (the store, where new secrets go, the environment
//! choice) and the output settings. Built once in `main` from the global options.

use std::ops::Deref;
use std::path::PathBuf;
use std::time::Duration;

use crate::cli::GlobalArgs;
use crate::exit::Failure;
use crate::shell::Shell;
use crate::vault::store::Store;
use crate::vault::{Patience, Vault, Warnings};

pub use crate::vault::EnvCredentials;

pub struct Context {
    pub vault: Vault,
    pub out: Shell,
}

impl Context {
    pub fn new(global: &GlobalArgs) -> Result<Self, Failure> {
        let patience = patience(global.quiet)?;
        let explicit = global.config_dir.clone().filter(|p| p != &PathBuf::new());
        let store = Store::locate(explicit, Warnings::default(), patience)?;
        Ok(Context {
            vault: Vault::new(store, global.secret_store, global.env.clone()),
            out: Shell::new(global.color, global.quiet),
        })
    }

    /// Prints what the vault had to say beside its results.
    pub fn say_warnings(&self) {
        for warning in self.vault.take_warnings() {
            self.out.warn(warning);
        }
    }
}

/// A command's context is the vault plus the output: `ctx.store`, `ctx.environment(…)`
/// and `ctx.secrets(…)` are the vault's.
impl Deref for Context {
    type Target = Vault;

    fn deref(&self) -> &Vault {
        &self.vault
    }
}

/// `REGCRED_TIMEOUT` (seconds, default 30): how long to wait for the store's lock or the
/// Secret Service; what is awaited is said on stderr after a second.
fn patience(quiet: bool) -> Result<Patience, Failure> {
    let timeout = match std::env::var("REGCRED_TIMEOUT") {
        Err(_) => Patience::DEFAULT_TIMEOUT,
        Ok(text) if text.trim().is_empty() => Patience::DEFAULT_TIMEOUT,
        Ok(text) => match text.trim().parse::<f64>() {
            Ok(secs) if secs.is_finite() && secs > 0.0 && secs <= 86_400.0 => Duration::from_secs_f64(secs),
            _ => {
                return Err(Failure::input(format!(
                    "REGCRED_TIMEOUT={:?} is not a number of seconds",
                    regcred_core::escape(&text)
                ))
                .hint("give it as seconds, e.g. REGCRED_TIMEOUT=30"));
            }
        },
    };
    // Said while waiting, before any result: the shell that replaces output.rs should
    // own this line.
    Ok(Patience::new(timeout, move |what| {
        if !quiet {
            eprintln!("{what}…");
        }
    }))
}
