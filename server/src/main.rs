fn main() -> std::process::ExitCode {
    eddy::cli::main()
}
