//! `regcred doctor`: the vault's checks (store, permissions, secret stores, agreement of
//! metadata and secrets; `--fix` repairs what it safely can), rendered.

use crate::cli::DoctorArgs;
use crate::context::Context;
use crate::exit::Failure;

mod view;
use view::Finding;

pub fn run(args: DoctorArgs, ctx: &Context) -> Result<(), Failure> {
    let diagnosis = ctx.doctor(args.fix);
    let mut findings: Vec<Finding> =
        diagnosis.findings.into_iter().map(|f| Finding { ok: f.ok, check: f.check, detail: f.detail }).collect();
    // Pinned and CA certificates that expired or expire within 30 days, in every environment.
    for finding in crate::commands::tls::pin_findings(&diagnosis.tls) {
        findings.push(Finding { ok: false, check: "tls certificate".into(), detail: finding.to_string() });
    }
    view::print(&ctx.out, &findings, ctx.out.format(args.output))?;
    if let Some(error) = diagnosis.failure {
        return Err(error.into());
    }
    let problems = findings.iter().filter(|f| !f.ok).count();
    if problems > 0 {
        return Err(Failure::operational(format!("{problems} problem(s) found"))
            .maybe_hint((!args.fix).then(|| "run `regcred doctor --fix` to repair what can be repaired".to_owned())));
    }
    Ok(())
}
