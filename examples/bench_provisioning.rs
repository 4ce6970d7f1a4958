//! Provisioning benchmark (run by `scripts/bench-provisioning.sh`, which starts the slapd).
//!
//! 1. Revocation lag: for N active, provisioned users, suspends each through the service and
//!    measures the time from the commit to the first refused bind (p50, p99), with the
//!    dispatcher running as in `roster serve` and an otherwise idle queue.
//! 2. Throughput: M staged users are activated at once; reports the jobs the dispatcher applies
//!    per second until the queue is empty.
//!
//! Environment: LDAP_URL, LDAP_PEOPLE, LDAP_ROOTDN, LDAP_ROOTPW, and BENCH_DATABASE_URL (an
//! SQLite path or a postgres:// URL). Arguments: `[suspensions] [activations]`.

// TODO(#5): suspend through the HTTP admin API (/api/systemusers) so the lag includes the
// request, as the issue asks; today it is measured from the service call's commit.

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
        let dispatcher = Dispatcher::new(store.clone(), DispatcherOptions::default());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let worker = tokio::spawn(Arc::clone(&dispatcher).run(async move {
            let _ = stopped.await;
        }));

        // 1. Revocation lag.
        let lag_users = create_users(&store, resource.id, "lag", suspensions, &password_hash);
        for id in &lag_users {
            set_state(&store, *id, LifecycleState::Activated);
        }
        wait_empty(&store).await;
        let mut lags = Vec::with_capacity(suspensions);
        for (i, id) in lag_users.iter().enumerate() {
            let dn = entry_dn(&format!("lag{i:05}"), &people);
            bind_check(&url, &dn, password, Duration::from_secs(5)).await.expect("active user binds before the suspension");
            let store = store.clone();
            let id = *id;
            tokio::task::spawn_blocking(move || set_state(&store, id, LifecycleState::Suspended)).await.expect("suspend");
            let committed = Instant::now();
            while bind_check(&url, &dn, password, Duration::from_secs(5)).await.is_ok() {}
            lags.push(committed.elapsed());
        }
        lags.sort();
        println!(
            "suspension -> bind refused, {suspensions} users: p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            percentile(&lags, 0.50).as_secs_f64() * 1e3,
            percentile(&lags, 0.99).as_secs_f64() * 1e3,
            lags.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
        );

        // 2. Throughput: stop the worker, queue every activation, then let it run.
        let _ = stop.send(());
        worker.await.expect("worker");
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
