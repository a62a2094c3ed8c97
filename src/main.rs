//! `regcred`: everything lives in the library; see `regcred::main`.

fn main() -> std::process::ExitCode {
    regcred::main()
}
