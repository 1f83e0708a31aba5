//! The `clustersim` binary: parse the command line and hand it to the library.

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = clustersim::cli::Cli::parse();
    match clustersim::cli::main(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            // 2: the input or the usage was wrong (clap also exits 2 on usage errors).
            ExitCode::from(2)
        }
    }
}
