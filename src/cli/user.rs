//! `roster user …`: the admin API's user operations from the command line, over the same
//! service functions (not over HTTP), recorded in the audit trail as the admin `cli`.

use std::io::BufRead;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::config::Config;
use crate::domain::activation_email::EmailRequest;
use crate::domain::{CreationMethod, Email, LifecycleState, User, UserId, UserName};
use crate::http::admin::body::user_json;
use crate::service::ServiceError;
use crate::service::admin_users::{self, FieldEdit, NewPassword, TextField};
use crate::service::users::{Actor, ManagerCascade, NewUser, change_state};
use crate::service::{activation, passwords};
use crate::store::user_queries::{Condition, FilterOp, UserField, UserQuery};
use crate::store::{DbConnection, user_queries, users};

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user (in the organization's manualEntry default state unless --state is given).
    Create(CreateArgs),
    /// List users, one per line: id, username, email, state.
    List {
        /// Only users in this state (STAGED, ACTIVATED or SUSPENDED).
        #[arg(long)]
        state: Option<LifecycleState>,
        /// Only users whose username, email or name contains this text.
        #[arg(long)]
        search: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[arg(long, default_value_t = 0)]
        skip: i64,
    },
    /// Show one user as JSON, in the admin API's shape.
    Show { user: String },
    /// Activate a user; a staged user gets its Welcome or Activation email unless --no-email.
    Activate {
        user: String,
        /// Send no email.
        #[arg(long, conflicts_with = "email")]
        no_email: bool,
        /// Send the email to this address instead of the user's own.
        #[arg(long)]
        email: Option<String>,
    },
    /// Suspend a user: access is revoked at once, the account is kept.
    Suspend { user: String },
    /// Delete a user for good; their direct reports lose their manager unless re-pointed.
    Delete {
        user: String,
        /// Give the deleted user's direct reports this manager (an id or username).
        #[arg(long)]
        cascade_manager: Option<String>,
    },
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    #[arg(long)]
    username: String,
    #[arg(long)]
    email: String,
    /// STAGED, ACTIVATED or SUSPENDED [default: the organization's manualEntry setting].
    #[arg(long)]
    state: Option<LifecycleState>,
    #[arg(long)]
    first_name: Option<String>,
    #[arg(long)]
    last_name: Option<String>,
    #[arg(long)]
    alternate_email: Option<String>,
    /// Read a password from the first line of standard input.
    #[arg(long)]
    password_stdin: bool,
    /// Make the user choose a new password at first login.
    #[arg(long)]
    password_expired: bool,
}

/// A user named by id or username.
fn find(conn: &mut DbConnection, name: &str) -> Result<User, ServiceError> {
    let by_id = match name.parse::<UserId>() {
        Ok(id) => users::find(conn, id)?,
        Err(_) => None,
    };
    match by_id {
        Some(user) => Ok(user),
        None => users::find_by_username(conn, name)?.ok_or_else(|| {
            crate::domain::user::InvalidField::new("user", format!("no user is named {name:?}"))
                .into()
        }),
    }
}

fn actor() -> Actor {
    Actor::cli()
}

fn create(
    conn: &mut DbConnection,
    config: &Config,
    args: CreateArgs,
) -> Result<User, ServiceError> {
    let now = chrono::Utc::now();
    let username = UserName::parse(&args.username)?;
    let email = Email::parse("email", &args.email)?;
    let mut edits = vec![
        FieldEdit::Text(TextField::FirstName, args.first_name),
        FieldEdit::Text(TextField::LastName, args.last_name),
        FieldEdit::PasswordExpired(args.password_expired),
    ];
    if let Some(alternate) = args.alternate_email {
        edits.push(FieldEdit::AlternateEmail(Some(Email::parse(
            "alternateEmail",
            &alternate,
        )?)));
    }
    let password = if args.password_stdin {
        let mut line = String::new();
        std::io::stdin()
            .lock()
            .read_line(&mut line)
            .map_err(|e| crate::domain::user::InvalidField::new("password", e.to_string()))?;
        let hash =
            passwords::hash_password(&config.password_policy, line.trim_end_matches(['\r', '\n']))?;
        Some(NewPassword {
            hash,
            expired: args.password_expired,
        })
    } else {
        None
    };
    let new = NewUser {
        user: User::new(
            username,
            email,
            LifecycleState::Activated,
            actor().source,
            "admin".into(),
            now,
        ),
        requested_state: args.state,
        method: CreationMethod::AdminApi,
    };
    admin_users::create(conn, new, &edits, password, &actor(), now)
}

fn list_line(user: &User) -> String {
    format!(
        "{}\t{}\t{}\t{}",
        user.id, user.username, user.email, user.state
    )
}

/// Runs a user command; `Err` is a refusal (exit 4) or a failure (exit 1), told apart by the
/// caller.
#[allow(clippy::print_stdout)] // the users are the command's output
pub fn run(
    conn: &mut DbConnection,
    config: &Config,
    command: UserCommand,
) -> Result<(), ServiceError> {
    let now = chrono::Utc::now();
    let print_json = |user: &User| println!("{:#}", user_json(user));
    match command {
        UserCommand::Create(args) => print_json(&create(conn, config, args)?),
        UserCommand::List {
            state,
            search,
            limit,
            skip,
        } => {
            let query = UserQuery {
                conditions: state
                    .map(|state| Condition {
                        field: UserField::State,
                        op: FilterOp::Eq,
                        values: vec![state.as_str().into()],
                    })
                    .into_iter()
                    .collect(),
                search,
                sort: Vec::new(),
                skip: skip.max(0),
                limit: limit.clamp(1, 10_000),
            };
            let (users, total) = user_queries::list(conn, &query)?;
            for user in &users {
                println!("{}", list_line(user));
            }
            eprintln!("{} of {total} users", users.len());
        }
        UserCommand::Show { user } => print_json(&find(conn, &user)?),
        UserCommand::Activate {
            user,
            no_email,
            email,
        } => {
            let id = find(conn, &user)?.id;
            let request = match (no_email, email) {
                (true, _) => EmailRequest::None,
                (false, Some(address)) => EmailRequest::To(Email::parse("email", &address)?),
                (false, None) => EmailRequest::Default,
            };
            let activation = activation::activate(conn, id, &request, &actor(), now)?;
            eprintln!(
                "{}: {:?}",
                activation.change.user.username, activation.change.transition
            );
            println!("{}", list_line(&activation.change.user));
        }
        UserCommand::Suspend { user } => {
            let id = find(conn, &user)?.id;
            let change = change_state(
                conn,
                id,
                LifecycleState::Suspended,
                crate::domain::Trigger::Request,
                &actor(),
                now,
            )?;
            println!("{}", list_line(&change.user));
        }
        UserCommand::Delete {
            user,
            cascade_manager,
        } => {
            let id = find(conn, &user)?.id;
            let cascade = match cascade_manager {
                Some(manager) => ManagerCascade::Repoint(find(conn, &manager)?.id),
                None => ManagerCascade::Clear,
            };
            let deleted = admin_users::delete(conn, id, cascade, &actor(), now)?;
            eprintln!("deleted {} ({})", deleted.username, deleted.id);
        }
    }
    Ok(())
}

/// Whether an error is the caller's (exit 4) rather than the system's (exit 1).
pub fn is_refusal(error: &ServiceError) -> bool {
    !matches!(error, ServiceError::Store(_))
}

/// Entry point from `cli::run`.
pub fn command(config: &Config, command: UserCommand) -> anyhow::Result<ExitCode> {
    let store = crate::app::open_store(config)?;
    let mut conn = store.conn()?;
    match run(&mut conn, config, command) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(error) if is_refusal(&error) => {
            eprintln!("refused: {error}");
            Ok(ExitCode::from(super::exit::REFUSED))
        }
        Err(error) => Err(error.into()),
    }
}
