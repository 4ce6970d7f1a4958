//! Directories whose entries are also `posixAccount`s, against the real slapd (`nis.schema`
//! loaded): the entry carries the user's `unix_uid` and `unix_guid`, its home and shell, and an
//! entry Roster wrote before the option was on becomes a `posixAccount` on the next change.

use std::collections::HashMap;

use chrono::Utc;
use roster_connectors::ldap::{bind_check, entry_dn};
use roster_connectors::ldap3;
use serde_json::json;

use super::Dispatcher;
use super::tests::{
    Ldap, drain, fast_options, ldap_env, root_handle, set_state, staged_user_bound_to,
};
use crate::domain::provisioning::ResourceType;
use crate::domain::resource::{Connection, Resource, Secret};
use crate::domain::{LifecycleState, ResourceId, User, UserId};
use crate::store::resources::{self, Member};
use crate::store::testing::on_each_backend;
use crate::store::{Store, users};

fn directory(store: &Store, ldap: &Ldap, options: serde_json::Value) -> ResourceId {
    let now = Utc::now();
    let resource = Resource {
        id: ResourceId::generate(),
        name: format!("posix-{}", uuid::Uuid::new_v4().simple()),
        kind: ResourceType::LdapDirectory,
        connection: Some(Connection {
            url: ldap.url.clone(),
            bind_dn: Some(ldap.root_dn.clone()),
            secret: Some(Secret::new(ldap.root_pw.clone())),
            base_dn: Some(ldap.people.clone()),
        }),
        options,
        paused: None,
        created_at: now,
        updated_at: now,
    };
    resources::insert(&mut store.conn().expect("conn"), &resource).expect("insert resource");
    resource.id
}

fn user(store: &Store, id: UserId) -> User {
    users::find(&mut store.conn().expect("conn"), id)
        .expect("find")
        .expect("user")
}

/// The entry's attributes, each with its values sorted.
async fn entry(ldap: &Ldap, username: &str) -> HashMap<String, Vec<String>> {
    let (entries, _) = root_handle(ldap)
        .await
        .search(
            &entry_dn(username, &ldap.people),
            ldap3::Scope::Base,
            "(objectClass=*)",
            vec![
                "objectClass",
                "uidNumber",
                "gidNumber",
                "homeDirectory",
                "loginShell",
            ],
        )
        .await
        .and_then(|r| r.success())
        .expect("search");
    let found = ldap3::SearchEntry::construct(entries.into_iter().next().expect("entry"));
    found
        .attrs
        .into_iter()
        .map(|(name, mut values)| {
            values.sort();
            (name, values)
        })
        .collect()
}

fn username() -> String {
    format!("x{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

#[test]
fn posix_entries_carry_the_users_ids_home_and_shell() {
    let ldap = ldap_env();
    on_each_backend(|store| {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async {
            let resource = directory(
                store,
                &ldap,
                json!({"posixAccount": true, "homeDirectoryBase": "/srv/home", "loginShell": "/bin/bash"}),
            );
            let (ada, grace) = (username(), username());
            let ada_id = staged_user_bound_to(store, resource, &ada, "Ada-Pass-1");
            let grace_id = staged_user_bound_to(store, resource, &grace, "Grace-Pass-1");
            let dispatcher = Dispatcher::new(store.clone(), fast_options());
            set_state(store, ada_id, LifecycleState::Activated);
            set_state(store, grace_id, LifecycleState::Activated);
            drain(&dispatcher).await;

            let (ada_user, grace_user) = (user(store, ada_id), user(store, grace_id));
            let ada_uid = ada_user.unix_uid.expect("ids assigned on create");
            assert_ne!(Some(ada_uid), grace_user.unix_uid, "each user has its own id");
            let found = entry(&ldap, &ada).await;
            assert!(found["objectClass"].iter().any(|c| c == "posixAccount"), "{found:?}");
            assert_eq!(found["uidNumber"], [ada_uid.to_string()]);
            assert_eq!(
                found["gidNumber"],
                [ada_user.unix_guid.expect("gid").to_string()]
            );
            assert_eq!(found["homeDirectory"], [format!("/srv/home/{ada}")]);
            assert_eq!(found["loginShell"], ["/bin/bash"]);
            bind_check(
                &ldap.url,
                &entry_dn(&ada, &ldap.people),
                "Ada-Pass-1",
                std::time::Duration::from_secs(5),
            )
            .await
            .expect("a posixAccount binds like any entry");
        });
    });
}

#[test]
fn an_entry_written_before_the_option_becomes_a_posix_account() {
    let ldap = ldap_env();
    on_each_backend(|store| {
        let runtime = tokio::runtime::Runtime::new().expect("runtime");
        runtime.block_on(async {
            let plain = directory(store, &ldap, json!({}));
            let name = username();
            let id = staged_user_bound_to(store, plain, &name, "Pass-word-1");
            let dispatcher = Dispatcher::new(store.clone(), fast_options());
            set_state(store, id, LifecycleState::Activated);
            drain(&dispatcher).await;
            let found = entry(&ldap, &name).await;
            assert!(!found["objectClass"].iter().any(|c| c == "posixAccount"));
            assert!(!found.contains_key("uidNumber"));

            // The same directory, now configured for POSIX entries, finds the entry and adds
            // the class and the ids to it.
            let posix = directory(store, &ldap, json!({"posixAccount": true}));
            let mut conn = store.conn().expect("conn");
            resources::bind(&mut conn, posix, Member::User(id), Utc::now()).expect("bind");
            crate::service::provisioning::enqueue_for_user(&mut conn, id, Utc::now())
                .expect("enqueue");
            drop(conn);
            drain(&dispatcher).await;
            let found = entry(&ldap, &name).await;
            assert!(
                found["objectClass"].iter().any(|c| c == "posixAccount"),
                "{found:?}"
            );
            assert_eq!(
                found["uidNumber"],
                [user(store, id).unix_uid.expect("uid").to_string()]
            );
            assert_eq!(found["homeDirectory"], [format!("/home/{name}")]);
            assert!(!found.contains_key("loginShell"));
        });
    });
}
