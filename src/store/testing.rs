//! Fresh databases for tests: an SQLite file in a temporary directory always, and a new
//! PostgreSQL database whenever `ROSTER_TEST_DATABASE_URL` names a server (the test script
//! starts one and sets it, together with `ROSTER_REQUIRE_POSTGRES=1` so that a missing server
//! fails the run instead of quietly testing SQLite alone).

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

use super::{Store, StoreOptions};

/// A migrated store on a database that exists only for one test.
pub struct TestDatabase {
    pub store: Store,
    pub backend_name: &'static str,
    cleanup: Cleanup,
}

enum Cleanup {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, database: String },
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Cleanup::Postgres {
            admin_url,
            database,
        } = &self.cleanup
            && let Ok(mut admin) = PgConnection::establish(admin_url)
        {
            // FORCE ends the pool's connections, which are still open here.
            let _ =
                admin.batch_execute(&format!("DROP DATABASE IF EXISTS {database} WITH (FORCE)"));
        }
    }
}

pub fn sqlite() -> TestDatabase {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("roster.db");
    let store = Store::open(&StoreOptions::new(path.to_string_lossy())).expect("open sqlite");
    store.migrate().expect("migrate sqlite");
    TestDatabase {
        store,
        backend_name: "sqlite",
        cleanup: Cleanup::Sqlite(dir),
    }
}

/// The URL of the test PostgreSQL server, if the environment names one.
pub fn postgres_url() -> Option<String> {
    let url = std::env::var("ROSTER_TEST_DATABASE_URL")
        .ok()
        .filter(|u| !u.is_empty());
    if url.is_none() && std::env::var("ROSTER_REQUIRE_POSTGRES").is_ok_and(|v| v == "1") {
        panic!("ROSTER_REQUIRE_POSTGRES=1 but ROSTER_TEST_DATABASE_URL is not set");
    }
    url
}

/// A new, migrated PostgreSQL database on the server at `admin_url`.
pub fn postgres(admin_url: &str) -> TestDatabase {
    let database = format!("roster_test_{}", uuid::Uuid::new_v4().simple());
    let mut admin = PgConnection::establish(admin_url).expect("connect to the test PostgreSQL");
    admin
        .batch_execute(&format!("CREATE DATABASE {database}"))
        .expect("create a test database");
    let url = replace_database(admin_url, &database);
    let store = Store::open(&StoreOptions::new(url)).expect("open postgres");
    store.migrate().expect("migrate postgres");
    TestDatabase {
        store,
        backend_name: "postgres",
        cleanup: Cleanup::Postgres {
            admin_url: admin_url.to_owned(),
            database,
        },
    }
}

/// The same server URL pointing at another database.
fn replace_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let server = base.rsplit_once('/').map_or(base, |(server, _)| server);
    match query {
        Some(query) => format!("{server}/{database}?{query}"),
        None => format!("{server}/{database}"),
    }
}

/// Every backend the environment offers: SQLite, and PostgreSQL when configured.
pub fn databases() -> Vec<TestDatabase> {
    let mut databases = vec![sqlite()];
    if let Some(url) = postgres_url() {
        databases.push(postgres(&url));
    }
    databases
}

/// Runs `scenario` once on each backend, naming the backend if it panics.
pub fn on_each_backend(scenario: impl Fn(&Store)) {
    for database in databases() {
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| scenario(&database.store)));
        if let Err(panic) = outcome {
            eprintln!("scenario failed on {}", database.backend_name);
            std::panic::resume_unwind(panic);
        }
    }
}

#[test]
fn database_names_are_replaced_in_urls() {
    assert_eq!(
        replace_database("postgres://u:p@127.0.0.1:5432/roster", "t1"),
        "postgres://u:p@127.0.0.1:5432/t1"
    );
    assert_eq!(
        replace_database("postgres://u@h/roster?sslmode=disable", "t1"),
        "postgres://u@h/t1?sslmode=disable"
    );
}

/// A user with the required fields, created now, for tests to adjust.
pub fn sample_user(username: &str) -> crate::domain::User {
    use crate::domain::{Email, LifecycleState, StateSource, User, UserName};
    User::new(
        UserName::parse(username).expect("valid username"),
        Email::parse("email", &format!("{username}@example.com")).expect("valid email"),
        LifecycleState::Activated,
        StateSource::Admin,
        "admin".into(),
        super::time::truncate_to_micros(chrono::Utc::now()),
    )
}
