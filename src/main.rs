fn main() -> std::process::ExitCode {
    caremarket::cli::main()
}
