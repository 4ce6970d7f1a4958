use std::process::ExitCode;

use clap::Parser;
use roster::cli::{self, Cli};

fn main() -> ExitCode {
    // One TLS crypto provider for the whole process (ldap3's rustls needs it chosen up front).
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let cli = Cli::parse();
    match cli::run(cli) {
        Ok(code) => code,
        Err(error) => {
            // One line, with the chain of causes: "cannot open the database at …: <reason>".
            // Some causes (libpq's) span several lines; fold them so a log keeps one record.
            let message = format!("{error:#}");
            let one_line: Vec<&str> = message.split_whitespace().collect();
            eprintln!("error: {}", one_line.join(" "));
            ExitCode::from(cli::exit::FAILURE)
        }
    }
}
