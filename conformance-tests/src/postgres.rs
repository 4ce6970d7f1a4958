//! Throwaway PostgreSQL databases on the server the test script started.

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection};

/// The test server's URL; the test script always sets it, so its absence fails the test.
pub fn server_url() -> String {
    std::env::var("ROSTER_TEST_DATABASE_URL")
        .expect("ROSTER_TEST_DATABASE_URL must name the test PostgreSQL (scripts/test sets it)")
}

/// A database that exists for one test and is dropped after it.
pub struct TestDatabase {
    admin_url: String,
    pub name: String,
    pub url: String,
}

impl TestDatabase {
    pub fn create() -> Self {
        let admin_url = server_url();
        let name = format!("roster_bb_{}", uuid::Uuid::new_v4().simple());
        admin(&admin_url)
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .expect("create test database");
        let server = admin_url
            .rsplit_once('/')
            .map_or(admin_url.as_str(), |(s, _)| s);
        let url = format!("{server}/{name}");
        Self {
            admin_url,
            name,
            url,
        }
    }

    /// Drops the database now, ending every connection to it, as an outage would.
    pub fn drop_now(&self) {
        admin(&self.admin_url)
            .batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .expect("drop test database");
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let Ok(mut conn) = PgConnection::establish(&self.admin_url) {
            let _ = conn.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

fn admin(url: &str) -> PgConnection {
    PgConnection::establish(url).expect("connect to the test PostgreSQL")
}
