//! The `formcheck` executable: all of it lives in the library's `app` module.

fn main() -> std::process::ExitCode {
    formcheck::app::main()
}
