//! The dispatcher against the real slapd that `scripts/test` starts (ppolicy and argon2
//! loaded), through the service functions, on each database backend. Each step ends with a
//! bind as the user, the way an application would check a login.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use roster_connectors::ldap::{BindRefused, bind_check, entry_dn};
use roster_connectors::ldap3;
use serde_json::json;

use super::{Dispatcher, DispatcherOptions};
use crate::domain::lifecycle::Trigger;
use crate::domain::provisioning::ResourceType;
use crate::domain::resource::{Connection, Resource, Secret};
use crate::domain::{CreationMethod, LifecycleState, ResourceId, UserId};
use crate::service::users::{self, Actor, ManagerCascade, NewUser};
use crate::store::resources::{self, Member};
use crate::store::testing::{on_each_backend, sample_user};
use crate::store::{Store, audit, outbox};

const TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) struct Ldap {
    pub url: String,
    pub people: String,
    pub root_dn: String,
    pub root_pw: String,
}

/// The test directory's coordinates; these tests need it and say so instead of passing.
pub(crate) fn ldap_env() -> Ldap {
    let var = |name: &str| {
        std::env::var(name).unwrap_or_else(|_| {
            panic!("{name} is not set: run these tests through scripts/test, or eval \"$(scripts/slapd-test-instance.sh start)\" first")
        })
    };
    Ldap {
        url: var("LDAP_URL"),
        people: var("LDAP_PEOPLE"),
        root_dn: var("LDAP_ROOTDN"),
        root_pw: var("LDAP_ROOTPW"),
    }
}

pub(crate) fn argon2_hash(password: &str) -> String {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).expect("random salt");
    let salt = SaltString::encode_b64(&salt).expect("salt");
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("hash")
        .to_string()
}

pub(crate) fn ldap_resource(store: &Store, ldap: &Ldap, url: &str) -> ResourceId {
    let now = Utc::now();
    let resource = Resource {
        id: ResourceId::generate(),
        name: format!("directory-{}", uuid::Uuid::new_v4().simple()),
        kind: ResourceType::LdapDirectory,
        connection: Some(Connection {
            url: url.to_owned(),
            bind_dn: Some(ldap.root_dn.clone()),
            secret: Some(Secret::new(ldap.root_pw.clone())),
            base_dn: Some(ldap.people.clone()),
        }),
        options: json!({}),
        paused: None,
        created_at: now,
        updated_at: now,
    };
    resources::insert(&mut store.conn().expect("conn"), &resource).expect("insert resource");
    resource.id
}

pub(crate) fn staged_user_bound_to(
    store: &Store,
    resource: ResourceId,
    username: &str,
    password: &str,
) -> UserId {
    let mut conn = store.conn().expect("conn");
    let actor = Actor::admin("test");
    let now = Utc::now();
    let user = users::create_user(
        &mut conn,
        NewUser {
            user: sample_user(username),
            requested_state: Some(LifecycleState::Staged),
            method: CreationMethod::AdminApi,
        },
        &actor,
        now,
    )
    .expect("create");
    let hash = argon2_hash(password);
    users::update_user(&mut conn, user.id, None, &actor, now, |u| {
        u.password.hash = Some(hash);
        Ok(())
    })
    .expect("set password");
    resources::bind(&mut conn, resource, Member::User(user.id), now).expect("bind");
    crate::service::provisioning::enqueue_for_user(&mut conn, user.id, now).expect("enqueue");
    user.id
}

/// A user taken through the whole lifecycle has an event of each kind of provisioning step.
pub(crate) fn assert_every_provisioning_event(events: &[String]) {
    for expected in [
        "user_create_provision",
        "user_deprovision",
        "user_update_provision",
        "user_delete_provision",
    ] {
        assert!(
            events.iter().any(|e| e == expected),
            "{expected} in {events:?}"
        );
    }
}

pub(crate) fn fast_options() -> DispatcherOptions {
    DispatcherOptions {
        timeout: TIMEOUT,
        ..DispatcherOptions::default()
    }
}

async fn bind(ldap: &Ldap, username: &str, password: &str) -> Result<(), BindRefused> {
    bind_check(
        &ldap.url,
        &entry_dn(username, &ldap.people),
        password,
        TIMEOUT,
    )
    .await
}

pub(crate) fn set_state(store: &Store, user: UserId, state: LifecycleState) {
    users::change_state(
        &mut store.conn().expect("conn"),
        user,
        state,
        Trigger::Request,
        &Actor::admin("test"),
        Utc::now(),
    )
    .expect("state change");
}

/// Runs rounds until nothing is left to claim.
pub(crate) async fn drain(dispatcher: &std::sync::Arc<Dispatcher>) {
    drain_at(dispatcher, Utc::now()).await;
}

/// Runs rounds as if it were `now` until nothing is left to claim.
pub(crate) async fn drain_at(dispatcher: &std::sync::Arc<Dispatcher>, now: chrono::DateTime<Utc>) {
    for _ in 0..1000 {
        let report = dispatcher.round(now).await.expect("round");
        assert_eq!(report.parked, 0, "{report:?}");
        if report.claimed == 0 {
            return;
        }
    }
    panic!("the outbox did not drain");
}

#[test]
fn binds_follow_the_lifecycle_through_the_dispatcher() {
    let ldap = ldap_env();
    on_each_backend(|store| {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async {
            let resource = ldap_resource(store, &ldap, &ldap.url);
            let username = format!("p{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
            let user = staged_user_bound_to(store, resource, &username, "Old-Pass-1");
            let dispatcher = Dispatcher::new(store.clone(), fast_options());

            drain(&dispatcher).await;
            assert_eq!(
                bind(&ldap, &username, "Old-Pass-1").await,
                Err(BindRefused::Rejected(49)),
                "staged: no entry"
            );
            assert!(
                resources::account(&mut store.conn().expect("conn"), resource, user)
                    .expect("account")
                    .is_none()
            );

            set_state(store, user, LifecycleState::Activated);
            drain(&dispatcher).await;
            assert_eq!(
                bind(&ldap, &username, "Old-Pass-1").await,
                Ok(()),
                "activated"
            );

            set_state(store, user, LifecycleState::Suspended);
            drain(&dispatcher).await;
            assert_eq!(
                bind(&ldap, &username, "Old-Pass-1").await,
                Err(BindRefused::Rejected(49)),
                "suspended"
            );

            set_state(store, user, LifecycleState::Activated);
            drain(&dispatcher).await;
            assert_eq!(
                bind(&ldap, &username, "Old-Pass-1").await,
                Ok(()),
                "reactivated, old password"
            );

            set_state(store, user, LifecycleState::Suspended);
            drain(&dispatcher).await;
            let new_hash = argon2_hash("New-Pass-2");
            users::update_user(
                &mut store.conn().expect("conn"),
                user,
                None,
                &Actor::admin("test"),
                Utc::now(),
                |u| {
                    u.password.hash = Some(new_hash);
                    Ok(())
                },
            )
            .expect("new password");
            drain(&dispatcher).await;
            assert_eq!(
                bind(&ldap, &username, "New-Pass-2").await,
                Err(BindRefused::Rejected(49)),
                "new password held while suspended"
            );
            assert_eq!(
                bind(&ldap, &username, "Old-Pass-1").await,
                Err(BindRefused::Rejected(49)),
                "still locked"
            );

            set_state(store, user, LifecycleState::Activated);
            drain(&dispatcher).await;
            assert_eq!(
                bind(&ldap, &username, "New-Pass-2").await,
                Ok(()),
                "new password after reactivation"
            );
            assert_eq!(
                bind(&ldap, &username, "Old-Pass-1").await,
                Err(BindRefused::Rejected(49))
            );

            users::delete_user(
                &mut store.conn().expect("conn"),
                user,
                ManagerCascade::Clear,
                &Actor::admin("test"),
                Utc::now(),
            )
            .expect("delete");
            drain(&dispatcher).await;
            assert_eq!(
                bind(&ldap, &username, "New-Pass-2").await,
                Err(BindRefused::Rejected(49)),
                "deleted"
            );
            assert!(
                resources::account(&mut store.conn().expect("conn"), resource, user)
                    .expect("account")
                    .is_none(),
                "entry forgotten"
            );
            assert!(
                !entry_exists(&ldap, &username).await,
                "entry gone from the directory"
            );

            let mut conn = store.conn().expect("conn");
            assert_eq!(outbox::pending_count(&mut conn).expect("count"), 0);
            let recorded = audit::for_resource(&mut conn, &user.to_string()).expect("events");
            let created = recorded
                .iter()
                .find(|e| e.event_type == "user_create_provision")
                .expect("user_create_provision");
            let details: serde_json::Value =
                serde_json::from_str(&created.details).expect("JSON details");
            assert_eq!(details["success"], true, "{details}");
            assert_eq!(details["idm_client_id"], resource.to_string(), "{details}");
            let events: Vec<String> = recorded.into_iter().map(|e| e.event_type).collect();
            assert_every_provisioning_event(&events);
        });
    });
}

/// A connection to the test directory bound as its root DN, to look at entries directly.
pub(crate) async fn root_handle(ldap: &Ldap) -> ldap3::Ldap {
    let (conn, mut handle) = ldap3::LdapConnAsync::new(&ldap.url).await.expect("connect");
    ldap3::drive!(conn);
    handle
        .simple_bind(&ldap.root_dn, &ldap.root_pw)
        .await
        .expect("bind")
        .success()
        .expect("root bind");
    handle
}

/// A new user with `password`, bound to a new resource for the test directory, activated and
/// provisioned: (resource, username, user, the dispatcher that provisioned it).
async fn provisioned_active_user(
    store: &Store,
    ldap: &Ldap,
    password: &str,
) -> (ResourceId, String, UserId, Arc<Dispatcher>) {
    let resource = ldap_resource(store, ldap, &ldap.url);
    let username = format!("p{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
    let user = staged_user_bound_to(store, resource, &username, password);
    set_state(store, user, LifecycleState::Activated);
    let dispatcher = Dispatcher::new(store.clone(), fast_options());
    drain(&dispatcher).await;
    (resource, username, user, dispatcher)
}

pub(crate) async fn entry_exists(ldap: &Ldap, username: &str) -> bool {
    let mut handle = root_handle(ldap).await;
    let found = handle
        .search(
            &entry_dn(username, &ldap.people),
            ldap3::Scope::Base,
            "(objectClass=*)",
            vec!["uid"],
        )
        .await
        .expect("search");
    found.1.rc == 0 && !found.0.is_empty()
}

#[test]
fn a_refused_service_bind_pauses_the_target_and_changes_nothing_else() {
    let ldap = ldap_env();
    on_each_backend(|store| {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async {
            let wrong = Ldap {
                root_pw: "not-the-password".into(),
                ..ldap_env()
            };
            let resource = ldap_resource(store, &wrong, &ldap.url);
            let username = format!("p{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
            let user = staged_user_bound_to(store, resource, &username, "Pass-1");
            set_state(store, user, LifecycleState::Activated);
            let dispatcher = Dispatcher::new(store.clone(), fast_options());
            let report = dispatcher.round(Utc::now()).await.expect("round");
            assert_eq!(report.retried, 1, "{report:?}");
            let mut conn = store.conn().expect("conn");
            let paused = resources::find(&mut conn, resource)
                .expect("find")
                .expect("resource")
                .paused
                .expect("paused");
            assert!(
                paused.reason.contains("refused Roster's service bind"),
                "{}",
                paused.reason
            );
            assert!(!paused.reason.contains("not-the-password"));
            // Paused: nothing is claimed, and the job waits with its attempts untouched.
            assert_eq!(
                dispatcher.round(Utc::now()).await.expect("round").claimed,
                0
            );
            let jobs = outbox::jobs_of_user(&mut conn, user).expect("jobs");
            assert!(
                jobs.iter()
                    .all(|j| j.status == "pending" && j.attempts == 0),
                "{jobs:?}"
            );
            assert!(!entry_exists(&ldap, &username).await);
        });
    });
}

#[test]
fn a_permanent_failure_is_parked_with_its_error_and_can_be_retried() {
    let ldap = ldap_env();
    on_each_backend(|store| {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async {
            let resource = ldap_resource(store, &ldap, &ldap.url);
            let username = format!("p{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
            let user = staged_user_bound_to(store, resource, &username, "Pass-1");
            // `mail` is IA5 (ASCII) in the LDAP schema: the directory refuses this address.
            users::update_user(
                &mut store.conn().expect("conn"),
                user,
                None,
                &Actor::admin("test"),
                Utc::now(),
                |u| {
                    u.email = crate::domain::Email::parse("email", "jörg@example.com")
                        .expect("valid for Roster");
                    Ok(())
                },
            )
            .expect("email");
            set_state(store, user, LifecycleState::Activated);
            let dispatcher = Dispatcher::new(store.clone(), fast_options());
            let report = dispatcher.round(Utc::now()).await.expect("round");
            assert_eq!(report.parked, 1, "{report:?}");
            let mut conn = store.conn().expect("conn");
            let parked = outbox::jobs_with_status(&mut conn, "parked", 10).expect("parked");
            assert_eq!(parked.len(), 1);
            let error = parked[0].last_error.clone().unwrap_or_default();
            assert!(error.contains("add failed"), "{error}");
            let events = audit::for_resource(&mut conn, &user.to_string()).expect("events");
            let failed = events
                .iter()
                .find(|e| e.event_type == "user_update_provision")
                .expect("error event");
            let details: serde_json::Value =
                serde_json::from_str(&failed.details).expect("JSON details");
            assert_eq!(details["success"], false, "{details}");
            assert!(
                details["error_message"]
                    .as_str()
                    .is_some_and(|m| m.contains("add failed")),
                "{details}"
            );
            assert_eq!(details["idm_client_id"], resource.to_string(), "{details}");
            // Nothing more is claimed until an admin retries, after fixing the address.
            assert_eq!(
                dispatcher.round(Utc::now()).await.expect("round").claimed,
                0
            );
            users::update_user(
                &mut conn,
                user,
                None,
                &Actor::admin("test"),
                Utc::now(),
                |u| {
                    u.email =
                        crate::domain::Email::parse("email", "jorg@example.com").expect("valid");
                    Ok(())
                },
            )
            .expect("email");
            assert!(outbox::retry_parked(&mut conn, parked[0].id, Utc::now()).expect("retry"));
            drain(&dispatcher).await;
            assert_eq!(bind(&ldap, &username, "Pass-1").await, Ok(()));
            assert!(
                outbox::jobs_with_status(&mut conn, "parked", 10)
                    .expect("parked")
                    .is_empty()
            );
        });
    });
}

#[test]
fn the_running_dispatcher_applies_a_suspension_without_being_driven() {
    let ldap = ldap_env();
    on_each_backend(|store| {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async {
            let resource = ldap_resource(store, &ldap, &ldap.url);
            let username = format!("p{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
            let user = staged_user_bound_to(store, resource, &username, "Pass-1");
            set_state(store, user, LifecycleState::Activated);
            let dispatcher = Dispatcher::new(store.clone(), fast_options());
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let worker = tokio::spawn(Arc::clone(&dispatcher).run(async move {
                let _ = stopped.await;
            }));
            // Waits for an outcome (not a duration): the worker must get there on its own.
            let until = |expected: Result<(), BindRefused>| {
                let ldap = &ldap;
                let username = username.clone();
                async move {
                    for _ in 0..200 {
                        if bind(ldap, &username, "Pass-1").await == expected {
                            return;
                        }
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    panic!("the dispatcher never reached {expected:?}");
                }
            };
            until(Ok(())).await;
            set_state(store, user, LifecycleState::Suspended);
            until(Err(BindRefused::Rejected(49))).await;
            let _ = stop.send(());
            worker.await.expect("the worker stops on shutdown");
        });
    });
}

#[test]
fn an_admin_password_set_reaches_the_directory() {
    use crate::domain::password::PasswordPolicy;
    use crate::service::passwords::{hash_password, set_password};
    let ldap = ldap_env();
    on_each_backend(|store| {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async {
            let (_, username, user, dispatcher) =
                provisioned_active_user(store, &ldap, "Old-Pass-1").await;
            let hash =
                hash_password(&PasswordPolicy::default(), "Brand-New-Pass-9!").expect("hash");
            set_password(
                &mut store.conn().expect("conn"),
                user,
                hash,
                false,
                &Actor::admin("test"),
                Utc::now(),
            )
            .expect("set password");
            drain(&dispatcher).await;
            assert_eq!(bind(&ldap, &username, "Brand-New-Pass-9!").await, Ok(()));
            assert_eq!(
                bind(&ldap, &username, "Old-Pass-1").await,
                Err(BindRefused::Rejected(49))
            );
        });
    });
}

#[test]
fn applied_jobs_are_pruned_after_the_retention_and_live_work_stays() {
    let ldap = ldap_env();
    on_each_backend(|store| {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async {
            let (_, username, user, dispatcher) =
                provisioned_active_user(store, &ldap, "Pass-word-1").await;
            let done = |store: &Store| {
                outbox::jobs_with_status(&mut store.conn().expect("conn"), "done", 100)
                    .expect("done jobs")
                    .len()
            };
            assert!(done(store) > 0);
            let events = audit::count(&mut store.conn().expect("conn")).expect("count");

            // A job applied just now is kept; a pending one is never pruned.
            dispatcher.prune_done(Utc::now()).await;
            assert!(done(store) > 0, "within the retention");
            set_state(store, user, LifecycleState::Suspended);
            dispatcher
                .prune_done(Utc::now() + chrono::Duration::days(8))
                .await;
            assert_eq!(done(store), 0, "past the retention");
            let mut conn = store.conn().expect("conn");
            assert_eq!(outbox::pending_count(&mut conn).expect("pending"), 1);
            assert!(
                audit::count(&mut conn).expect("count") > events,
                "the trail keeps every event"
            );
            drop(conn);
            drain(&dispatcher).await;
            assert_eq!(
                bind(&ldap, &username, "Pass-word-1").await,
                Err(BindRefused::Rejected(49)),
                "the pending job was applied after the prune"
            );
        });
    });
}
