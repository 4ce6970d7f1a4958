//! Times one scheduler step that applies many due suspensions. Run through
//! `scripts/bench-scheduler.sh`, which builds it in release mode and runs it on SQLite and on a
//! throwaway PostgreSQL.
//!
//!     bench_scheduler <DATABASE_URL> [USERS]
//!
//! The database must be empty (a fresh SQLite path or a fresh PostgreSQL database). Prints one
//! line: backend, number of schedules, seconds for the step. Exits 1 if the step did not apply
//! every schedule.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context, bail};
use chrono::{Duration, Utc};
use roster::domain::schedule::Schedule;
use roster::domain::{
    CreationMethod, Email, LifecycleState, ScheduleId, StateSource, User, UserName,
};
use roster::scheduler::run_due;
use roster::service::ServiceError;
use roster::service::users::{Actor, NewUser, create_user};
use roster::store::{Store, StoreOptions, schedules, write_transaction};

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

#[allow(clippy::print_stdout)] // the timing is the program's output
fn run() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .context("usage: bench_scheduler <DATABASE_URL> [USERS]")?;
    let count: usize = args.next().map_or(Ok(10_000), |n| n.parse())?;
    let store = Store::open(&StoreOptions::new(&url)).context("open the database")?;
    store.migrate().context("migrate")?;
    let mut conn = store.conn()?;
    let now = Utc::now();

    let load = Instant::now();
    // Users are created in transactions of 50: each create is a savepoint inside them, and
    // PostgreSQL slows down badly past 64 subtransactions in one transaction.
    let mut users: Vec<User> = Vec::with_capacity(count);
    for start in (0..count).step_by(50) {
        let chunk: Vec<User> = write_transaction(&mut conn, |conn| {
            (start..count.min(start + 50))
                .map(|i| {
                    let name = format!("bench{i}");
                    let user = User::new(
                        UserName::parse(&name)?,
                        Email::parse("email", &format!("{name}@example.com"))?,
                        LifecycleState::Activated,
                        StateSource::Admin,
                        "admin".into(),
                        now,
                    );
                    let new = NewUser {
                        user,
                        requested_state: Some(LifecycleState::Activated),
                        method: CreationMethod::AdminApi,
                    };
                    create_user(conn, new, &Actor::admin("bench"), now)
                })
                .collect::<Result<_, ServiceError>>()
        })?;
        users.extend(chunk);
    }
    let due: Vec<Schedule> = users
        .iter()
        .map(|user| Schedule {
            id: ScheduleId::generate(),
            user_id: user.id,
            target: LifecycleState::Suspended,
            requested_at: now - Duration::minutes(10),
            run_at: now - Duration::minutes(10),
            send_activation_email: false,
            activation_email_override: None,
            created_by: "admin:bench".into(),
            created_at: now - Duration::hours(2),
        })
        .collect();
    write_transaction(&mut conn, |conn| schedules::insert(conn, &due))?;
    eprintln!(
        "loaded {count} users and {count} due suspensions in {:.1} s",
        load.elapsed().as_secs_f64()
    );

    let step = Instant::now();
    let outcome = run_due(&mut conn, now)?;
    let seconds = step.elapsed().as_secs_f64();
    if outcome.changed != count || schedules::count(&mut conn)? != 0 {
        bail!("the step did not apply every schedule: {outcome:?}");
    }
    println!(
        "{}\t{count} due suspensions\tone scheduler step: {seconds:.2} s",
        store.backend().name()
    );
    Ok(())
}
