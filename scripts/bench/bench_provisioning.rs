//! Provisioning benchmark (run by `scripts/bench-provisioning.sh`, which starts the slapd).
//!
//! 1. Revocation lag: starts the real `roster serve` binary on the database, activates N
//!    provisioned users through the admin API, then suspends them one at a time with
//!    `PUT /api/systemusers/{id}` and measures the time from each HTTP response to the first
//!    refused bind (p50, p99), with an otherwise idle queue.
//! 2. Throughput: with the server stopped, M staged users are activated at once; a dispatcher
//!    as in `roster serve` is started and the jobs it applies per second until the queue is
//!    empty are reported.
//!
//! Environment: LDAP_URL, LDAP_PEOPLE, LDAP_ROOTDN, LDAP_ROOTPW, BENCH_DATABASE_URL (an SQLite
//! path or a postgres:// URL), ROSTER_BIN (the `roster` binary) and BENCH_WORK_DIR (its data
//! directory). Arguments: `[suspensions] [activations]`.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use roster::domain::lifecycle::Trigger;
use roster::domain::provisioning::ResourceType;
use roster::domain::resource::{Connection, Resource, Secret};
use roster::domain::{
    CreationMethod, Email, LifecycleState, ResourceId, StateSource, User, UserName,
};
use roster::provisioning::{Dispatcher, DispatcherOptions};
use roster::service::users::{self, Actor, NewUser};
use roster::store::resources::{self, Member};
use roster::store::{Store, StoreOptions, outbox};
use roster_connectors::ldap::{bind_check, entry_dn};

fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} must be set (see scripts/bench-provisioning.sh)"))
}

/// A cheap Argon2id hash: the benchmark measures Roster, not slapd's password hashing.
fn hash(password: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("random salt");
    let params = argon2::Params::new(1024, 1, 1, None).expect("params");
    argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
        .hash_password(
            password.as_bytes(),
            &SaltString::encode_b64(&salt).expect("salt"),
        )
        .expect("hash")
        .to_string()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let index = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[index.min(sorted.len() - 1)]
}

fn create_users(
    store: &Store,
    resource: ResourceId,
    prefix: &str,
    count: usize,
    password_hash: &str,
) -> Vec<roster::domain::UserId> {
    let mut conn = store.conn().expect("conn");
    let actor = Actor::admin("bench");
    (0..count)
        .map(|i| {
            let now = Utc::now();
            let name = format!("{prefix}{i:05}");
            let mut user = User::new(
                UserName::parse(&name).expect("name"),
                Email::parse("email", &format!("{name}@example.com")).expect("email"),
                LifecycleState::Staged,
                StateSource::Admin,
                "admin".into(),
                now,
            );
            user.password.hash = Some(password_hash.to_owned());
            let user = users::create_user(
                &mut conn,
                NewUser {
                    user,
                    requested_state: Some(LifecycleState::Staged),
                    method: CreationMethod::AdminApi,
                },
                &actor,
                now,
            )
            .expect("create");
            resources::bind(&mut conn, resource, Member::User(user.id), now).expect("bind");
            user.id
        })
        .collect()
}

fn set_state(store: &Store, id: roster::domain::UserId, state: LifecycleState) {
    users::change_state(
        &mut store.conn().expect("conn"),
        id,
        state,
        Trigger::Request,
        &Actor::admin("bench"),
        Utc::now(),
    )
    .expect("state");
}

/// `roster serve` on a free loopback port, with the benchmark's database.
struct RunningServer {
    child: Child,
    base_url: String,
}

impl RunningServer {
    async fn start(database_url: &str) -> RunningServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        let listen = format!("127.0.0.1:{port}");
        let child = Command::new(env("ROSTER_BIN"))
            .args(["serve", "--listen", &listen, "--database-url", database_url])
            .args(["--data-dir", &env("BENCH_WORK_DIR")])
            .env("ROSTER_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .expect("start roster serve");
        let server = RunningServer {
            child,
            base_url: format!("http://{listen}"),
        };
        let client = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let ready = client
                .get(format!("{}/readyz", server.base_url))
                .send()
                .await
                .is_ok_and(|response| response.status().is_success());
            if ready {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "roster serve did not become ready"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// SIGTERM, so the server stops its workers as in production, then waits for it.
    fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
    }
}

/// Sends a state change through the admin API and returns when its response has arrived.
async fn api_state_change(
    client: &reqwest::Client,
    server: &RunningServer,
    api_key: &str,
    id: roster::domain::UserId,
    state: &str,
) {
    let request = match state {
        "ACTIVATED" => client
            .post(format!(
                "{}/api/systemusers/{id}/state/activate",
                server.base_url
            ))
            .json(&serde_json::json!({ "email": false })),
        _ => client
            .put(format!("{}/api/systemusers/{id}", server.base_url))
            .json(&serde_json::json!({ "state": state })),
    };
    let response = request
        .header("x-api-key", api_key)
        .send()
        .await
        .expect("admin API request");
    let status = response.status();
    assert!(
        status.is_success(),
        "{state} for {id}: {status}: {}",
        response.text().await.unwrap_or_default()
    );
}

async fn wait_empty(store: &Store) {
    loop {
        let pending = store.run(outbox::pending_count).await.expect("count");
        if pending == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[allow(
    clippy::print_stdout,
    reason = "the figures are the benchmark's output"
)]
fn main() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let mut args = std::env::args().skip(1);
    let suspensions: usize = args
        .next()
        .map_or(1000, |a| a.parse().expect("suspensions"));
    let activations: usize = args
        .next()
        .map_or(10_000, |a| a.parse().expect("activations"));
    let (url, people) = (env("LDAP_URL"), env("LDAP_PEOPLE"));
    let store = Store::open(&StoreOptions::new(env("BENCH_DATABASE_URL"))).expect("open database");
    store.migrate().expect("migrate");
    let now = Utc::now();
    let resource = Resource {
        id: ResourceId::generate(),
        name: format!("bench-{}", now.timestamp_micros()),
        kind: ResourceType::LdapDirectory,
        connection: Some(Connection {
            url: url.clone(),
            bind_dn: Some(env("LDAP_ROOTDN")),
            secret: Some(Secret::new(env("LDAP_ROOTPW"))),
            base_dn: Some(people.clone()),
        }),
        options: serde_json::json!({}),
        paused: None,
        created_at: now,
        updated_at: now,
    };
    resources::insert(&mut store.conn().expect("conn"), &resource).expect("resource");
    let password = "Bench-Pass-1";
    let password_hash = hash(password);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        // 1. Revocation lag, through a running `roster serve`.
        let lag_users = create_users(&store, resource.id, "lag", suspensions, &password_hash);
        let api_key = roster::service::api_keys::create(
            &mut store.conn().expect("conn"),
            &format!("bench-{}", now.timestamp_micros()),
            Utc::now(),
        )
        .expect("API key")
        .key;
        let server = RunningServer::start(&env("BENCH_DATABASE_URL")).await;
        let client = reqwest::Client::new();
        for id in &lag_users {
            api_state_change(&client, &server, &api_key, *id, "ACTIVATED").await;
        }
        wait_empty(&store).await;
        let mut lags = Vec::with_capacity(suspensions);
        for (i, id) in lag_users.iter().enumerate() {
            let dn = entry_dn(&format!("lag{i:05}"), &people);
            bind_check(&url, &dn, password, Duration::from_secs(5))
                .await
                .expect("active user binds before the suspension");
            api_state_change(&client, &server, &api_key, *id, "SUSPENDED").await;
            let answered = Instant::now();
            while bind_check(&url, &dn, password, Duration::from_secs(5))
                .await
                .is_ok()
            {}
            lags.push(answered.elapsed());
        }
        server.stop();
        lags.sort();
        println!(
            "API suspension response -> bind refused, {suspensions} users: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            percentile(&lags, 0.50).as_secs_f64() * 1e3,
            percentile(&lags, 0.99).as_secs_f64() * 1e3,
            lags.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        );

        // 2. Throughput: queue every activation with no dispatcher running, then start one.
        let dispatcher = Dispatcher::new(store.clone(), DispatcherOptions::default());
        let bulk = create_users(&store, resource.id, "bulk", activations, &password_hash);
        for id in &bulk {
            set_state(&store, *id, LifecycleState::Activated);
        }
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let started = Instant::now();
        let worker = tokio::spawn(Arc::clone(&dispatcher).run(async move {
            let _ = stopped.await;
        }));
        wait_empty(&store).await;
        let elapsed = started.elapsed();
        let _ = stop.send(());
        worker.await.expect("worker");
        println!(
            "{activations} activations applied in {:.2} s: {:.0} jobs/s",
            elapsed.as_secs_f64(),
            activations as f64 / elapsed.as_secs_f64()
        );
    });
}
