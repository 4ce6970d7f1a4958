//! Preloads users for the SCIM benchmark (`scripts/bench-scim.sh`), which builds it in release
//! mode.
//!
//!     bench_scim_load <DATABASE_URL> <USERS> <INTEGRATION> <OUT_DIR>
//!
//! Creates USERS users the way the integration's SCIM POSTs would (the same service function,
//! `service::scim_users::create`, as the integration: source `scim:<INTEGRATION>`, state
//! ACTIVATED), in transactions of 50. The integration must exist (`roster token issue` creates
//! it) and the database must hold no user named like the benchmark's users. Writes into OUT_DIR:
//!
//! - `roster-users.tsv`: one `id<TAB>userName` line per user created, for the load generator;
//! - `users.jsonl`: each user as the SCIM User resource an IdP would POST, so that the other
//!   servers of the benchmark are loaded with exactly the same users.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use chrono::Utc;
use roster::domain::{Email, LifecycleState, StateSource, User, UserName};
use roster::service::ServiceError;
use roster::service::scim_users::{self, StateRequest};
use roster::store::{Store, StoreOptions, integrations, write_transaction};
use serde_json::{Value, json};

const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
const GIVEN_NAMES: [&str; 8] = [
    "Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "Ken",
];
const FAMILY_NAMES: [&str; 8] = [
    "Lovelace", "Hopper", "Turing", "Dijkstra", "Liskov", "Knuth", "Allen", "Thompson",
];
const DEPARTMENTS: [&str; 5] = ["Engineering", "Sales", "Finance", "Support", "People"];
/// Users per transaction: each create is a savepoint inside it, and PostgreSQL slows down
/// badly past 64 subtransactions in one transaction.
const BATCH: usize = 50;

/// The profile of benchmark user `i`, as an identity provider would push it.
struct IdpUser {
    user_name: String,
    given: &'static str,
    family: String,
    external_id: String,
    employee_number: String,
    department: &'static str,
}

impl IdpUser {
    fn new(i: usize) -> Self {
        Self {
            user_name: format!("user{i:06}@bench.example.com"),
            given: GIVEN_NAMES[i % GIVEN_NAMES.len()],
            family: format!(
                "{}{i}",
                FAMILY_NAMES[(i / GIVEN_NAMES.len()) % FAMILY_NAMES.len()]
            ),
            external_id: format!("00u{i:017}"),
            employee_number: format!("E{i:06}"),
            department: DEPARTMENTS[i % DEPARTMENTS.len()],
        }
    }

    fn display_name(&self) -> String {
        format!("{} {}", self.given, self.family)
    }

    /// The SCIM resource an IdP sends in `POST /Users`.
    fn resource(&self) -> Value {
        json!({
            "schemas": [USER_SCHEMA, ENTERPRISE_SCHEMA],
            "externalId": self.external_id,
            "userName": self.user_name,
            "name": {"givenName": self.given, "familyName": self.family},
            "displayName": self.display_name(),
            "emails": [{"value": self.user_name, "type": "work", "primary": true}],
            "title": "Engineer",
            "active": true,
            ENTERPRISE_SCHEMA: {
                "employeeNumber": self.employee_number,
                "department": self.department,
            },
        })
    }

    /// The same resource as Roster's user record, as `PUT`/`POST` would map it.
    fn user(&self, integration: &str, now: chrono::DateTime<Utc>) -> anyhow::Result<User> {
        let mut user = User::new(
            UserName::parse(&self.user_name)?,
            Email::parse("emails", &self.user_name)?,
            LifecycleState::Staged,
            StateSource::Scim(integration.to_owned()),
            String::new(),
            now,
        );
        user.external_id = Some(self.external_id.clone());
        user.first_name = Some(self.given.to_owned());
        user.last_name = Some(self.family.clone());
        user.display_name = Some(self.display_name());
        user.job_title = Some("Engineer".to_owned());
        user.employee_identifier = Some(self.employee_number.clone());
        user.department = Some(self.department.to_owned());
        Ok(user)
    }
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench_scim_load: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn create(path: &Path) -> anyhow::Result<BufWriter<File>> {
    Ok(BufWriter::new(File::create(path).with_context(|| {
        format!("cannot create {}", path.display())
    })?))
}

fn run() -> anyhow::Result<()> {
    const USAGE: &str = "usage: bench_scim_load <DATABASE_URL> <USERS> <INTEGRATION> <OUT_DIR>";
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, count, integration, out_dir] = args.as_slice() else {
        anyhow::bail!(USAGE);
    };
    let count: usize = count.parse().context(USAGE)?;
    let out_dir = Path::new(out_dir);
    let store = Store::open(&StoreOptions::new(url)).context("open the database")?;
    store.migrate().context("migrate")?;
    let mut conn = store.conn()?;
    let integration = integrations::find_by_name(&mut conn, integration)?
        .with_context(|| format!("no integration {integration:?}: run `roster token issue`"))?;
    // Both backends take the lifecycle extension's state in a POST; ACTIVATED is what the
    // benchmark's PATCHes toggle from.
    let request = StateRequest {
        active: Some(true),
        state: Some(LifecycleState::Activated),
    };

    let mut ids = create(&out_dir.join("roster-users.tsv"))?;
    let mut resources = create(&out_dir.join("users.jsonl"))?;
    let started = Instant::now();
    for start in (0..count).step_by(BATCH) {
        let now = Utc::now();
        let batch: Vec<IdpUser> = (start..count.min(start + BATCH))
            .map(IdpUser::new)
            .collect();
        let users = batch
            .iter()
            .map(|idp| idp.user(&integration.name, now))
            .collect::<anyhow::Result<Vec<User>>>()?;
        let created = write_transaction(&mut conn, |conn| {
            users
                .into_iter()
                .map(|user| scim_users::create(conn, user, request, None, &integration, now))
                .collect::<Result<Vec<User>, ServiceError>>()
        })?;
        for (user, idp) in created.iter().zip(&batch) {
            anyhow::ensure!(
                user.state == LifecycleState::Activated,
                "user {} was created {}, not ACTIVATED",
                user.username.as_str(),
                user.state
            );
            writeln!(ids, "{}\t{}", user.id, user.username.as_str())?;
            writeln!(resources, "{}", idp.resource())?;
        }
    }
    ids.flush()?;
    resources.flush()?;
    eprintln!(
        "bench_scim_load: {count} users created on {} in {:.1} s",
        store.backend().name(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
