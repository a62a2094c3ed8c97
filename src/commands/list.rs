//! `regcred list` and `regcred show`: read-only, never touch the secret store.

use crate::cli::{ListArgs, ShowArgs};
use crate::commands::select;
use crate::context::{Context, EnvCredentials};
use crate::exit::Failure;
use crate::output::CredentialView;

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
    ctx.out.credentials(&views, ctx.out.format(args.output), args.all_envs);
    Ok(())
}

pub fn show(args: ShowArgs, ctx: &Context) -> Result<(), Failure> {
    let registries = ctx.store.load()?;
    let environment = ctx.environment(&registries)?;
    let credential = select(&registries, &environment, &args.selector)?;
    let env_credentials = EnvCredentials::new(&registries, &environment)?;
    let status = env_credentials.status_of(credential.id).unwrap_or(regcred_core::Status::Inactive);
    ctx.out.credential(&CredentialView { credential, status, password: None }, ctx.out.format(args.output));
    Ok(())
}
