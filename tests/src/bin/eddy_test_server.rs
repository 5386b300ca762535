//! The `eddy` binary, built inside this package so tests can find it.
fn main() -> std::process::ExitCode {
    eddy::cli::main()
}
