//! The `eddy` binary, built inside this package so the harness smoke test
//! can start it (Cargo hands tests only their own package's binaries).
fn main() -> std::process::ExitCode {
    eddy::cli::main()
}
