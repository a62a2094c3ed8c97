//! `docker-credential-regcred`: the Docker credential-helper protocol over regcred's store.

fn main() -> std::process::ExitCode {
    regcred::helper::main()
}
