//! `roster schedule add|list|rm`: the same use cases as `/api/v2/bulk/userstates`, run directly
//! against the database; `roster schedule run`: one scheduler step at a chosen time.

use std::process::ExitCode;

use clap::Subcommand;

use crate::app;
use crate::config::Config;
use crate::domain::schedule::{Schedule, ScheduleRequest};
use crate::domain::{LifecycleState, ScheduleId, UserId};
use crate::scheduler::Outcome;
use crate::service::schedules;
use crate::service::users::Actor;
use crate::store::schedules::ScheduleCondition;
use crate::store::{DbConnection, users};

#[derive(Debug, Subcommand)]
pub enum ScheduleCommand {
    /// Schedule a state change for one or more users; prints one line per schedule:
    /// id, user id, state, and the UTC time it runs at.
    #[command(
        after_help = "Suspensions run on the next 10-minute boundary at or after the \
                            given time; activations at the minute given. The time must be at \
                            least one hour ahead."
    )]
    Add {
        /// A user id or username; repeat for several users.
        #[arg(long = "user", required = true, value_name = "USER")]
        users: Vec<String>,
        /// ACTIVATED or SUSPENDED.
        #[arg(long)]
        state: LifecycleState,
        /// When, in RFC 3339 with an explicit offset: 2030-01-31T17:00:00+01:00.
        #[arg(long, value_name = "TIME")]
        at: String,
        /// Send no activation email when an activation runs.
        #[arg(long, conflicts_with = "email_to")]
        no_email: bool,
        /// Send the activation email to this address instead (a single user only).
        #[arg(long, value_name = "ADDRESS")]
        email_to: Option<String>,
    },
    /// List pending schedules, soonest first.
    List {
        /// Only this user's (id or username).
        #[arg(long, value_name = "USER")]
        user: Option<String>,
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[arg(long, default_value_t = 0)]
        skip: i64,
    },
    /// Run one scheduler step, as `roster serve` does every interval: fire every schedule due
    /// at TIME (default: now). Prints what it did as one JSON object.
    Run {
        /// Fire what is due at this time, in RFC 3339 with an offset. Schedules due by then fire
        /// for real, even if that time is still ahead; the changes, and the provisioning jobs
        /// they queue, are dated TIME.
        #[arg(long, value_name = "TIME")]
        now: Option<chrono::DateTime<chrono::FixedOffset>>,
    },
    /// Delete a pending schedule; the user stays in its current state.
    Rm {
        /// The schedule id, as `add` or `list` print it.
        id: ScheduleId,
    },
}

/// Who the CLI acts as in the audit trail.
fn actor() -> Actor {
    Actor::cli()
}

fn resolve_user(conn: &mut DbConnection, text: &str) -> anyhow::Result<UserId> {
    if let Ok(id) = text.parse::<UserId>() {
        return Ok(id);
    }
    match users::find_by_username(conn, text)? {
        Some(user) => Ok(user.id),
        None => anyhow::bail!("no user has the id or username {text:?}"),
    }
}

#[allow(clippy::print_stdout)] // the schedules are the command's output
fn print(schedules: &[Schedule]) {
    for schedule in schedules {
        println!(
            "{}\t{}\t{}\t{}",
            schedule.id,
            schedule.user_id,
            schedule.target,
            schedule
                .run_at
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        );
    }
}

#[allow(clippy::print_stdout)] // what the step did is the command's output
fn print_outcome(outcome: &Outcome) {
    let counts = serde_json::json!({
        "fired": outcome.fired(),
        "changed": outcome.changed,
        "repeated_suspensions": outcome.repeated_suspensions,
        "skipped_activations": outcome.skipped_activations,
        "refused": outcome.refused,
        "orphaned": outcome.orphaned,
        "deferred": outcome.deferred,
    });
    println!("{counts}");
}

pub fn run(config: &Config, command: ScheduleCommand) -> anyhow::Result<ExitCode> {
    let store = app::open_store(config)?;
    let mut conn = store.conn()?;
    let now = chrono::Utc::now();
    match command {
        ScheduleCommand::Add {
            users,
            state,
            at,
            no_email,
            email_to,
        } => {
            let user_ids = users
                .iter()
                .map(|text| resolve_user(&mut conn, text))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let request = ScheduleRequest {
                user_ids,
                target: state,
                start_date: at,
                send_activation_emails: no_email.then_some(false),
                activation_email_override: email_to,
            };
            let created = schedules::create_schedules(&mut conn, request, &actor(), now)?;
            print(&created);
        }
        ScheduleCommand::List { user, limit, skip } => {
            let conditions = match user {
                Some(text) => vec![ScheduleCondition::UserIn(vec![resolve_user(
                    &mut conn, &text,
                )?])],
                None => Vec::new(),
            };
            print(&schedules::list_schedules(
                &mut conn,
                &conditions,
                skip,
                limit,
            )?);
        }
        ScheduleCommand::Run { now: at } => {
            let at = at.map_or(now, |at| at.with_timezone(&chrono::Utc));
            let outcome = crate::scheduler::run_due(&mut conn, at)?;
            print_outcome(&outcome);
        }
        ScheduleCommand::Rm { id } => {
            let deleted = schedules::delete_schedule(&mut conn, id, &actor(), now)?;
            eprintln!(
                "deleted the scheduled change of user {} to {}",
                deleted.user_id, deleted.target
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
