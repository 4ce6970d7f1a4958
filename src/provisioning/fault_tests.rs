//! Fault test: the directory goes down while users are activated and suspended; the jobs wait,
//! the target is paused, and once the directory is back every entry ends in the right state,
//! with nothing lost or duplicated. Uses its own slapd, stopped and started by the test.

use std::process::Command;

use chrono::Utc;
use roster_connectors::ldap3;

use super::Dispatcher;
use super::tests::{Ldap, argon2_hash, drain_at, fast_options, ldap_resource, root_handle};
use crate::domain::lifecycle::Trigger;
use crate::domain::{CreationMethod, LifecycleState, UserId};
use crate::service::users::{self, Actor, NewUser};
use crate::store::resources::{self, Member};
use crate::store::testing::{on_each_backend, sample_user};
use crate::store::{audit, outbox};

const SCRIPT: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/scripts/slapd-test-instance.sh"
);

/// Undoes the shell quoting of `printf %q` (a backslash before each special character).
fn unquote(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => plain.extend(chars.next()),
            '\'' => {}
            other => plain.push(other),
        }
    }
    plain
}

/// A slapd of this test's own, removed when dropped.
struct OwnSlapd {
    dir: String,
    ldap: Ldap,
}

impl OwnSlapd {
    fn start() -> Self {
        let output = Command::new(SCRIPT)
            .arg("start")
            .output()
            .expect("run the slapd script");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8(output.stdout).expect("utf-8");
        let value = |name: &str| {
            text.lines()
                .find_map(|line| line.strip_prefix(&format!("{name}=")))
                .map(unquote)
                .unwrap_or_else(|| panic!("{name} missing from {text}"))
        };
        Self {
            dir: value("SLAPD_DIR"),
            ldap: Ldap {
                url: value("LDAP_URL"),
                people: value("LDAP_PEOPLE"),
                root_dn: value("LDAP_ROOTDN"),
                root_pw: value("LDAP_ROOTPW"),
            },
        }
    }

    fn run(&self, action: &str) {
        let status = Command::new(SCRIPT)
            .args([action, &self.dir])
            .output()
            .expect("run the slapd script");
        assert!(
            status.status.success(),
            "{action}: {}",
            String::from_utf8_lossy(&status.stderr)
        );
    }
}

impl Drop for OwnSlapd {
    fn drop(&mut self) {
        let _ = Command::new(SCRIPT).args(["stop", &self.dir]).output();
    }
}

fn change(store: &crate::store::Store, user: UserId, state: LifecycleState) {
    users::change_state(
        &mut store.conn().expect("conn"),
        user,
        state,
        Trigger::Request,
        &Actor::admin("fault"),
        Utc::now(),
    )
    .expect("state change");
}

/// (uid, locked) of every entry under the people container.
async fn entries(ldap: &Ldap) -> Vec<(String, bool)> {
    let mut handle = root_handle(ldap).await;
    let (found, _) = handle
        .search(
            &ldap.people,
            ldap3::Scope::OneLevel,
            "(objectClass=inetOrgPerson)",
            vec!["uid", "pwdAccountLockedTime"],
        )
        .await
        .expect("search")
        .success()
        .expect("search ok");
    found
        .into_iter()
        .map(|e| {
            let e = ldap3::SearchEntry::construct(e);
            (
                e.attrs["uid"][0].clone(),
                e.attrs.contains_key("pwdAccountLockedTime"),
            )
        })
        .collect()
}

#[test]
fn entries_converge_after_the_directory_comes_back() {
    const USERS: usize = 1000;
    const SUSPENDED: usize = 100;
    on_each_backend(|store| {
        let slapd = OwnSlapd::start();
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async {
            let resource = ldap_resource(store, &slapd.ldap, &slapd.ldap.url);
            let hash = argon2_hash("Fault-Pass-1");
            let actor = Actor::admin("fault");
            let mut ids = Vec::with_capacity(USERS);
            {
                let mut conn = store.conn().expect("conn");
                for i in 0..USERS {
                    let mut user = sample_user(&format!("fault{i:04}"));
                    user.password.hash = Some(hash.clone());
                    let now = Utc::now();
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
                    ids.push(user.id);
                }
            }
            let dispatcher = Dispatcher::new(store.clone(), fast_options());
            // Half are activated and provisioned while the directory is up.
            for id in &ids[..USERS / 2] {
                change(store, *id, LifecycleState::Activated);
            }
            drain_at(&dispatcher, Utc::now()).await;
            assert_eq!(entries(&slapd.ldap).await.len(), USERS / 2);

            slapd.run("halt");
            for id in &ids[USERS / 2..] {
                change(store, *id, LifecycleState::Activated);
            }
            for id in &ids[..SUSPENDED] {
                change(store, *id, LifecycleState::Suspended);
            }
            // Every call fails: the jobs stay pending and the target gets paused.
            for _ in 0..3 {
                dispatcher
                    .round(Utc::now() + chrono::Duration::hours(1))
                    .await
                    .expect("round");
            }
            let mut conn = store.conn().expect("conn");
            assert!(
                resources::find(&mut conn, resource)
                    .expect("find")
                    .expect("resource")
                    .paused
                    .is_some(),
                "target paused"
            );
            assert_eq!(
                outbox::jobs_with_status(&mut conn, "parked", 10)
                    .expect("parked")
                    .len(),
                0
            );
            assert!(
                outbox::pending_count(&mut conn).expect("pending")
                    >= (USERS / 2 + SUSPENDED) as i64
            );

            slapd.run("resume");
            dispatcher.probe_paused(Utc::now()).await;
            assert!(
                resources::find(&mut conn, resource)
                    .expect("find")
                    .expect("resource")
                    .paused
                    .is_none(),
                "target resumed"
            );
            drain_at(&dispatcher, Utc::now() + chrono::Duration::hours(1)).await;

            let found = entries(&slapd.ldap).await;
            assert_eq!(
                found.len(),
                USERS,
                "one entry per user, none lost or duplicated"
            );
            let locked: Vec<&String> = found
                .iter()
                .filter(|(_, locked)| *locked)
                .map(|(uid, _)| uid)
                .collect();
            assert_eq!(locked.len(), SUSPENDED);
            assert!(
                locked.iter().all(|uid| uid.as_str() < "fault0100"),
                "{locked:?}"
            );
            assert_eq!(outbox::pending_count(&mut conn).expect("pending"), 0);
            for id in &ids {
                let account = resources::account(&mut conn, resource, *id)
                    .expect("account")
                    .expect("recorded");
                let created = audit::for_resource(&mut conn, &id.to_string())
                    .expect("events")
                    .iter()
                    .filter(|e| e.event_type == "user_create_provision")
                    .count();
                assert_eq!(created, 1, "{}", account.remote_id);
            }
        });
    });
}
