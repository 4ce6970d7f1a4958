//! `roster token issue|revoke`: SCIM bearer tokens for identity providers.

use std::process::ExitCode;

use clap::Subcommand;
use uuid::Uuid;

use crate::cli::exit;
use crate::domain::integration::{DeleteAction, IntegrationKind};
use crate::service::scim_tokens;
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Issue a token for an integration (created if it does not exist) and print it once.
    /// Give it to the identity provider as the SCIM bearer token; Roster stores only its id.
    Issue {
        /// The integration's name; changes it makes are recorded as `scim:<NAME>`.
        #[arg(long, value_name = "NAME")]
        integration: String,
        /// What sits on the other end [default for a new integration: generic].
        #[arg(long, value_parser = parse_kind)]
        kind: Option<IntegrationKind>,
        /// The token may read but not change anything.
        #[arg(long)]
        read_only: bool,
    },
    /// Show or change what an integration may do to the lifecycle (DESIGN.md §6).
    Policy {
        #[arg(long, value_name = "NAME")]
        integration: String,
        /// May `active: true` activate a STAGED user?
        #[arg(long, value_name = "BOOL")]
        may_activate_staged: Option<bool>,
        /// May `active: true` lift any suspension, not only one this integration made?
        #[arg(long, value_name = "BOOL")]
        may_lift_any_suspension: Option<bool>,
        /// What DELETE /Users/{id} does: delete (default) or suspend.
        #[arg(long, value_parser = ["delete", "suspend"])]
        delete_action: Option<String>,
    },
    /// Revoke one token by its id, or every token of an integration.
    Revoke {
        /// The token id printed when it was issued.
        #[arg(
            long,
            value_name = "ID",
            conflicts_with = "integration",
            required_unless_present = "integration"
        )]
        id: Option<Uuid>,
        /// Revoke all tokens of this integration.
        #[arg(long, value_name = "NAME")]
        integration: Option<String>,
    },
}

fn parse_kind(text: &str) -> Result<IntegrationKind, String> {
    text.parse()
        .map_err(|error: crate::domain::integration::UnknownKind| error.to_string())
}

/// Runs a token command; the token is the only thing written to stdout.
#[allow(clippy::print_stdout)] // the token is the command's output
pub fn run(store: &Store, command: TokenCommand) -> anyhow::Result<ExitCode> {
    let mut conn = store.conn()?;
    let now = chrono::Utc::now();
    match command {
        TokenCommand::Issue {
            integration,
            kind,
            read_only,
        } => {
            let issued = scim_tokens::issue(&mut conn, &integration, kind, read_only, now)?;
            if issued.created_integration {
                eprintln!(
                    "integration {:?} ({}) created",
                    issued.integration.name, issued.integration.kind
                );
            }
            eprintln!(
                "token {} issued for {:?}{}; it is shown only this once:",
                issued.record.id,
                issued.integration.name,
                if read_only { " (read-only)" } else { "" }
            );
            println!("{}", issued.token);
            Ok(ExitCode::SUCCESS)
        }
        TokenCommand::Revoke { id: Some(id), .. } => {
            if scim_tokens::revoke(&mut conn, id, now)? {
                eprintln!("token {id} revoked");
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("no unrevoked token has id {id}");
                Ok(ExitCode::from(exit::REFUSED))
            }
        }
        TokenCommand::Revoke {
            integration: Some(name),
            ..
        } => match scim_tokens::revoke_all(&mut conn, &name, now)? {
            None => anyhow::bail!("no integration is named {name:?}"),
            Some(0) => {
                eprintln!("integration {name:?} has no unrevoked token");
                Ok(ExitCode::from(exit::REFUSED))
            }
            Some(count) => {
                eprintln!("{count} token(s) of {name:?} revoked");
                Ok(ExitCode::SUCCESS)
            }
        },
        TokenCommand::Revoke { .. } => anyhow::bail!("give --id or --integration"),
        TokenCommand::Policy {
            integration,
            may_activate_staged,
            may_lift_any_suspension,
            delete_action,
        } => {
            let updated = scim_tokens::set_policy(&mut conn, &integration, |policy| {
                if let Some(flag) = may_activate_staged {
                    policy.may_activate_staged = flag;
                }
                if let Some(flag) = may_lift_any_suspension {
                    policy.may_lift_any_suspension = flag;
                }
                match delete_action.as_deref() {
                    Some("suspend") => policy.delete_action = DeleteAction::Suspend,
                    Some("delete") => policy.delete_action = DeleteAction::Delete,
                    _ => {}
                }
            })?;
            let Some(updated) = updated else {
                anyhow::bail!(
                    "no integration is named {integration:?}; `roster token issue` creates it"
                );
            };
            println!("{}", serde_json::to_string(&updated.policy)?);
            Ok(ExitCode::SUCCESS)
        }
    }
}
