//! The `formcheck` executable: all of it lives in the library's `cli` module.

fn main() -> std::process::ExitCode {
    formcheck::cli::main()
}
