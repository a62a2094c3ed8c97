//! `regcred generate-assets [DIR]` (hidden, for maintainers): rewrites completions/ and man/
//! from the clap definition.

use crate::cli::GenerateAssetsArgs;
use crate::context::Context;
use crate::exit::Failure;

pub fn run(args: GenerateAssetsArgs, ctx: &Context) -> Result<(), Failure> {
    if !args.dir.join("Cargo.toml").is_file() {
        return Err(Failure::input(format!("{} is not the regcred source tree (no Cargo.toml)", args.dir.display()))
            .hint("run it from the top of the tree: cargo run --bin regcred -- generate-assets"));
    }
    let written = crate::assets::write(&args.dir).map_err(|e| {
        Failure::operational(format!("cannot write the generated files under {}: {e}", args.dir.display()))
    })?;
    let count = |dir: &str| written.iter().filter(|p| p.starts_with(dir)).count();
    ctx.out.info(format!(
        "Wrote {} completion scripts to {} and {} man pages to {}.",
        count(crate::assets::COMPLETIONS_DIR),
        args.dir.join(crate::assets::COMPLETIONS_DIR).display(),
        count(crate::assets::MAN_DIR),
        args.dir.join(crate::assets::MAN_DIR).display(),
    ));
    Ok(())
}
