//! The `roster` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::config::{Config, Overrides};
use crate::service::api_keys;
use crate::{app, telemetry};

mod audit;
mod schedule;
mod user;
pub use audit::AuditCommand;
pub use schedule::ScheduleCommand;

/// Exit codes, so scripts can tell outcomes apart.
pub mod exit {
    /// The command failed: bad configuration, unreachable database, I/O error.
    pub const FAILURE: u8 = 1;
    /// `audit verify` found the trail altered or truncated.
    pub const AUDIT_BROKEN: u8 = 3;
    /// The request was refused: unknown user, invalid value, or a lifecycle rule.
    pub const REFUSED: u8 = 4;
}

#[derive(Debug, Parser)]
#[command(
    name = "roster",
    version,
    about = "User-lifecycle server: SCIM 2.0 for identity providers, a JumpCloud-compatible \
             admin API, and provisioning to LDAP directories and SCIM apps",
    after_help = "Exit codes: 0 success, 1 failure, 2 usage error, 3 audit trail broken, \
                  4 request refused (unknown user, invalid value, lifecycle rule, \
                  nothing to revoke)."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// TOML configuration file.
    #[arg(long, global = true, env = "ROSTER_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Directory for the SQLite database and local files [default: ./roster-data].
    #[arg(long, global = true, env = "ROSTER_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Database URL: postgres://user:password@host/db for PostgreSQL [default: SQLite in the
    /// data directory].
    #[arg(
        long,
        global = true,
        env = "ROSTER_DATABASE_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the server.
    Serve {
        /// Address to listen on [default: 127.0.0.1:8080].
        #[arg(long, env = "ROSTER_LISTEN", value_name = "ADDR")]
        listen: Option<std::net::SocketAddr>,
    },
    /// Apply pending database migrations and exit.
    Migrate,
    /// Verify or export the audit trail.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Manage admin API keys (sent by scripts in the x-api-key header).
    #[command(subcommand)]
    Apikey(ApiKeyCommand),
    /// Create, list, show, activate, suspend and delete users.
    #[command(subcommand)]
    User(user::UserCommand),
    /// Schedule state changes for later, list and delete them.
    #[command(subcommand)]
    Schedule(ScheduleCommand),
    /// Issue and revoke SCIM bearer tokens for identity providers.
    #[command(subcommand)]
    Token(crate::scim::cli::TokenCommand),
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key and print it once; only its digest is stored.
    Create {
        /// A unique name; changes made with the key are recorded under it.
        #[arg(long)]
        name: String,
    },
    /// List keys by name, with when they were created or revoked.
    List,
    /// Revoke a key by name: calls with it are refused from then on.
    Revoke {
        #[arg(long)]
        name: String,
    },
}

impl Cli {
    fn config(&self) -> anyhow::Result<Config> {
        let listen = match &self.command {
            Command::Serve { listen } => *listen,
            _ => None,
        };
        let overrides = Overrides {
            listen,
            data_dir: self.global.data_dir.clone(),
            database_url: self.global.database_url.clone(),
        };
        Config::load(self.global.config.as_deref(), &overrides).context("invalid configuration")
    }
}

/// Runs the parsed command and returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let config = cli.config()?;
    telemetry::init(config.log_format);
    match cli.command {
        Command::Serve { .. } => {
            let store = app::open_store(&config)?;
            let listener = app::bind(&config)?;
            actix_web::rt::System::new().block_on(app::serve(config, store, listener))?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate => {
            app::open_store(&config)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Audit(command) => audit::run(&config, command),
        Command::Apikey(command) => api_key_command(&config, command),
        Command::User(command) => user::command(&config, command),
        Command::Schedule(command) => schedule::run(&config, command),
        Command::Token(command) => {
            let store = app::open_store(&config)?;
            crate::scim::cli::run(&store, command)
        }
    }
}

#[allow(clippy::print_stdout)] // the key, or the listing, is the command's output
fn api_key_command(config: &Config, command: ApiKeyCommand) -> anyhow::Result<ExitCode> {
    let store = app::open_store(config)?;
    let mut conn = store.conn()?;
    let now = chrono::Utc::now();
    match command {
        ApiKeyCommand::Create { name } => {
            let minted = api_keys::create(&mut conn, &name, now)?;
            eprintln!(
                "API key {:?} created; it is shown only this once:",
                minted.record.name
            );
            println!("{}", minted.key);
        }
        ApiKeyCommand::List => {
            for key in crate::store::api_keys::list(&mut conn)? {
                let status = key
                    .revoked_at
                    .map_or_else(|| "active".to_owned(), |at| format!("revoked {at}"));
                println!("{}\tcreated {}\t{status}", key.name, key.created_at);
            }
        }
        ApiKeyCommand::Revoke { name } => {
            if !api_keys::revoke(&mut conn, &name, now)? {
                anyhow::bail!("no active API key is named {name:?}");
            }
            eprintln!("API key {name:?} revoked");
        }
    }
    Ok(ExitCode::SUCCESS)
}
