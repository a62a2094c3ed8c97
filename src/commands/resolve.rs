//! `regcred resolve`: which credential a pull of each image would use, and why. Opens the
//! secret store only under `--show-secret`.

use std::io::BufRead;

use regcred_core::{Reference, RegistryAddress, Scope, Status};

use crate::cli::ResolveArgs;
use crate::context::{Context, EnvCredentials};
use crate::exit::{ExitCode, Failure, input_error};
use crate::output::{CredentialView, Resolution};
use crate::secrets::Secret;
use crate::store::{Credential, Need};

pub fn run(args: ResolveArgs, ctx: &Context) -> Result<u8, Failure> {
    let mut images = args.images.clone();
    if args.stdin {
        for (number, line) in std::io::stdin().lock().lines().enumerate() {
            let line = line.map_err(|e| Failure::operational(format!("cannot read images from stdin: {e}")))?;
            let image = line.trim();
            if image.is_empty() || image.starts_with('#') {
                continue;
            }
            if image.len() > 4096 {
                return Err(input_error!("stdin line {}: image reference is longer than 4096 characters", number + 1));
            }
            images.push(image.to_owned());
        }
    }
    let references = images
        .iter()
        .map(|image| Reference::parse(image).map_err(|e| input_error!("invalid image reference {image:?}: {e}")))
        .collect::<Result<Vec<_>, _>>()?;

    // Only the credentials of the environment that may be on these registries are read;
    // the others can be neither chosen nor shown (a credential on another registry gets no
    // verdict in `--explain` and cannot override one on these).
    let mut registries_wanted: Vec<&RegistryAddress> = references.iter().map(Reference::registry_address).collect();
    registries_wanted.sort_unstable_by(|a, b| a.as_str().cmp(b.as_str()));
    registries_wanted.dedup();
    let may_be_wanted = |text: &str| registries_wanted.iter().any(|a| Scope::may_have_address(text, a));
    let registries = ctx.store.load_only(&Need { environment: ctx.env_override(), address: &may_be_wanted })?;
    let environment = ctx.environment(&registries)?;
    let env_credentials = EnvCredentials::new(&registries, &environment)?;
    let candidates = env_credentials.candidates();
    let statuses = if args.explain { env_credentials.statuses() } else { Vec::new() };
    let index_of = |id: u64| env_credentials.records.iter().position(|c| c.id == id);

    let mut chosen: Vec<Option<usize>> = Vec::with_capacity(references.len());
    let mut explained = Vec::with_capacity(references.len());
    for reference in &references {
        if args.explain {
            let selection = regcred_core::select(&candidates, reference);
            chosen.push(selection.chosen.and_then(index_of));
            explained.push(Some(selection.verdicts));
        } else {
            chosen.push(regcred_core::select_chosen(&candidates, reference).and_then(index_of));
            explained.push(None);
        }
    }

    let secrets: Vec<Option<Secret>> = if args.show_secret {
        chosen
            .iter()
            .map(|index| index.map(|i| read_secret(ctx, &registries.store_id, env_credentials.records[i])).transpose())
            .collect::<Result<_, _>>()?
    } else {
        Vec::new()
    };

    let records = &env_credentials.records;
    let mut results = Vec::with_capacity(references.len());
    for (n, (reference, image)) in references.into_iter().zip(&images).enumerate() {
        let credential = chosen[n].map(|i| view(records, &statuses, i, secrets.get(n).and_then(Option::as_ref)));
        let candidates = explained[n].take().map(|verdicts| {
            verdicts
                .into_iter()
                .filter_map(|(id, verdict)| index_of(id).map(|i| (view(records, &statuses, i, None), verdict)))
                .collect()
        });
        results.push(Resolution { image, reference, environment: &environment, credential, candidates });
    }
    let unresolved = results.iter().filter(|r| r.credential.is_none()).count();
    ctx.out.resolutions(&results, ctx.out.format(args.output), args.show_secret);
    if unresolved > 0 {
        ctx.out.info(format!(
            "{unresolved} of {} image(s) have no active credential in environment {environment}.",
            results.len()
        ));
        return Ok(ExitCode::Unresolved as u8);
    }
    Ok(0)
}

/// The chosen credential is always `active` (a newer one with the same scope would have been
/// chosen instead), so statuses are only computed for `--explain`.
fn view<'a>(
    records: &[&'a Credential],
    statuses: &[Status],
    i: usize,
    password: Option<&'a Secret>,
) -> CredentialView<'a> {
    CredentialView {
        credential: records[i],
        status: statuses.get(i).copied().unwrap_or(Status::Active),
        password: password.map(Secret::expose),
    }
}

fn read_secret(ctx: &Context, store_id: &str, credential: &Credential) -> Result<Secret, Failure> {
    crate::context::secret_of(ctx, store_id, credential)
}
