//! `regcred doctor`: the vault's checks (store, permissions, secret stores, agreement of
//! metadata and secrets; `--fix` repairs what it safely can), rendered.

use crate::cli::DoctorArgs;
use crate::context::Context;
use crate::exit::Failure;
use crate::output::Finding;

pub fn run(args: DoctorArgs, ctx: &Context) -> Result<(), Failure> {
    let diagnosis = ctx.doctor(args.fix);
    let findings: Vec<Finding> =
        diagnosis.findings.into_iter().map(|f| Finding { ok: f.ok, check: f.check, detail: f.detail }).collect();
    ctx.out.findings(&findings, ctx.out.format(args.output));
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
