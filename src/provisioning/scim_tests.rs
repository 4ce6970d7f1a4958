//! The dispatcher against a real SCIM app: a second Roster, checked through its own SCIM API
//! after each lifecycle step, on each database backend of the Roster that provisions.

use chrono::Utc;
use reqwest::Method;
use serde_json::{Value, json};

use super::Dispatcher;
use super::scim_test_servers::Downstream;
use super::tests::{
    assert_every_provisioning_event, drain, fast_options, set_state, staged_user_bound_to,
};
use crate::domain::provisioning::ResourceType;
use crate::domain::resource::{Connection, Resource, Secret};
use crate::domain::{LifecycleState, ResourceId, UserId};
use crate::service::users::{self, Actor, ManagerCascade};
use crate::store::resources::{self, ProvisionedAccount};
use crate::store::testing::on_each_backend;
use crate::store::{Store, audit, outbox};

/// A SCIM app resource reached at `base_url` with `token`, with these options.
pub(crate) fn scim_resource(
    store: &Store,
    base_url: &str,
    token: &str,
    options: Value,
) -> ResourceId {
    let now = Utc::now();
    let resource = Resource {
        id: ResourceId::generate(),
        name: format!("app-{}", uuid::Uuid::new_v4().simple()),
        kind: ResourceType::ScimApp,
        connection: Some(Connection {
            url: base_url.to_owned(),
            bind_dn: None,
            secret: Some(Secret::new(token)),
            base_dn: None,
        }),
        options,
        paused: None,
        created_at: now,
        updated_at: now,
    };
    resources::insert(&mut store.conn().expect("conn"), &resource).expect("insert resource");
    resource.id
}

pub(crate) fn unique_name() -> String {
    format!("s{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

pub(crate) fn account_of(
    store: &Store,
    resource: ResourceId,
    user: UserId,
) -> Option<ProvisionedAccount> {
    resources::account(&mut store.conn().expect("conn"), resource, user).expect("account")
}

fn delete_user(store: &Store, user: UserId) {
    users::delete_user(
        &mut store.conn().expect("conn"),
        user,
        ManagerCascade::Clear,
        &Actor::admin("test"),
        Utc::now(),
    )
    .expect("delete");
}

fn event_types(store: &Store, user: UserId) -> Vec<String> {
    audit::for_resource(&mut store.conn().expect("conn"), &user.to_string())
        .expect("events")
        .into_iter()
        .map(|e| e.event_type)
        .collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().expect("runtime")
}

#[test]
fn accounts_follow_the_lifecycle_in_a_scim_app() {
    on_each_backend(|store| {
        let downstream = Downstream::start();
        runtime().block_on(async {
            let resource = scim_resource(store, &downstream.base_url, &downstream.token, json!({}));
            let name = unique_name();
            let user = staged_user_bound_to(store, resource, &name, "Never-Sent-1");
            let dispatcher = Dispatcher::new(store.clone(), fast_options());

            drain(&dispatcher).await;
            assert_eq!(downstream.find(&name).await, None, "staged: nothing sent");
            assert_eq!(account_of(store, resource, user), None);

            set_state(store, user, LifecycleState::Activated);
            drain(&dispatcher).await;
            let remote = downstream.find(&name).await.expect("activated: present");
            assert_eq!(remote["active"], true, "{remote}");
            assert_eq!(remote["externalId"], user.to_string());
            assert_eq!(remote["emails"][0]["value"], format!("{name}@example.com"));
            let remote_id = remote["id"].as_str().expect("id").to_owned();
            assert_eq!(
                downstream.lifecycle(&remote_id).await["passwordStatus"],
                "PENDING",
                "no password is ever sent: {remote}"
            );
            assert_eq!(
                account_of(store, resource, user),
                Some(ProvisionedAccount {
                    remote_id: remote_id.clone(),
                    disabled: false
                })
            );

            set_state(store, user, LifecycleState::Suspended);
            drain(&dispatcher).await;
            let remote = downstream.find(&name).await.expect("suspended: kept");
            assert_eq!(remote["active"], false, "{remote}");
            assert_eq!(remote["id"], remote_id.as_str());
            assert!(account_of(store, resource, user).is_some_and(|a| a.disabled));

            set_state(store, user, LifecycleState::Activated);
            drain(&dispatcher).await;
            let remote = downstream.find(&name).await.expect("reactivated");
            assert_eq!(remote["active"], true, "{remote}");
            assert_eq!(remote["id"], remote_id.as_str(), "the same account");

            users::update_user(
                &mut store.conn().expect("conn"),
                user,
                None,
                &Actor::admin("test"),
                Utc::now(),
                |u| {
                    u.first_name = Some("Katherine".into());
                    u.last_name = Some("Johnson".into());
                    u.job_title = Some("Mathematician".into());
                    u.department = Some("Flight Research".into());
                    Ok(())
                },
            )
            .expect("profile change");
            drain(&dispatcher).await;
            let remote = downstream.find(&name).await.expect("changed");
            assert_eq!(remote["name"]["givenName"], "Katherine", "{remote}");
            assert_eq!(remote["name"]["familyName"], "Johnson");
            assert_eq!(remote["title"], "Mathematician");
            assert_eq!(
                remote["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
                "Flight Research"
            );
            users::update_user(
                &mut store.conn().expect("conn"),
                user,
                None,
                &Actor::admin("test"),
                Utc::now(),
                |u| {
                    u.job_title = None;
                    Ok(())
                },
            )
            .expect("clear the title");
            drain(&dispatcher).await;
            let remote = downstream.find(&name).await.expect("changed");
            assert_eq!(
                remote.get("title"),
                None,
                "a cleared value is removed: {remote}"
            );

            delete_user(store, user);
            drain(&dispatcher).await;
            assert_eq!(downstream.find(&name).await, None, "deleted: gone");
            let (status, _) = downstream
                .call(Method::GET, &format!("/Users/{remote_id}"), None)
                .await;
            assert_eq!(status, 404);
            assert_eq!(account_of(store, resource, user), None);

            let mut conn = store.conn().expect("conn");
            assert_eq!(outbox::pending_count(&mut conn).expect("count"), 0);
            let events = event_types(store, user);
            assert_every_provisioning_event(&events);
        });
    });
}

#[test]
fn delete_on_suspend_removes_the_account_and_reactivation_creates_it_again() {
    on_each_backend(|store| {
        let downstream = Downstream::start();
        runtime().block_on(async {
            let options = json!({ "deleteOnSuspend": true });
            let resource = scim_resource(store, &downstream.base_url, &downstream.token, options);
            let name = unique_name();
            let user = staged_user_bound_to(store, resource, &name, "Pass-1");
            let dispatcher = Dispatcher::new(store.clone(), fast_options());
            set_state(store, user, LifecycleState::Activated);
            drain(&dispatcher).await;
            let first = downstream.find(&name).await.expect("present");

            set_state(store, user, LifecycleState::Suspended);
            drain(&dispatcher).await;
            assert_eq!(downstream.find(&name).await, None, "suspended: deleted");
            assert_eq!(account_of(store, resource, user), None);

            set_state(store, user, LifecycleState::Activated);
            drain(&dispatcher).await;
            let again = downstream
                .find(&name)
                .await
                .expect("reactivated: created again");
            assert_eq!(again["active"], true);
            assert_ne!(again["id"], first["id"]);
            let created = event_types(store, user)
                .iter()
                .filter(|e| *e == "user_create_provision")
                .count();
            assert_eq!(created, 2);
        });
    });
}

#[test]
fn deactivate_on_delete_keeps_the_account_inactive() {
    on_each_backend(|store| {
        let downstream = Downstream::start();
        runtime().block_on(async {
            let options = json!({ "deactivateOnDelete": true });
            let resource = scim_resource(store, &downstream.base_url, &downstream.token, options);
            let name = unique_name();
            let user = staged_user_bound_to(store, resource, &name, "Pass-1");
            let dispatcher = Dispatcher::new(store.clone(), fast_options());
            set_state(store, user, LifecycleState::Activated);
            drain(&dispatcher).await;
            assert!(downstream.find(&name).await.is_some());

            delete_user(store, user);
            drain(&dispatcher).await;
            let remote = downstream.find(&name).await.expect("deleted: kept");
            assert_eq!(remote["active"], false, "{remote}");
            assert!(
                event_types(store, user)
                    .iter()
                    .any(|e| e == "user_deprovision")
            );
        });
    });
}

#[test]
fn an_account_already_in_the_app_is_linked_and_a_lost_one_is_created_again() {
    on_each_backend(|store| {
        let downstream = Downstream::start();
        runtime().block_on(async {
            let resource = scim_resource(store, &downstream.base_url, &downstream.token, json!({}));
            let name = unique_name();
            // The app knows the person already, under another spelling of the name.
            let (status, existing) = downstream
                .call(
                    Method::POST,
                    "/Users",
                    Some(json!({
                        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                        "userName": name.to_uppercase(),
                        "active": true,
                    })),
                )
                .await;
            assert_eq!(status, 201, "{existing}");
            let user = staged_user_bound_to(store, resource, &name, "Pass-1");
            let dispatcher = Dispatcher::new(store.clone(), fast_options());
            set_state(store, user, LifecycleState::Activated);
            drain(&dispatcher).await;
            let linked = downstream.find(&name).await.expect("one account");
            assert_eq!(linked["id"], existing["id"], "linked, not duplicated");
            assert_eq!(linked["userName"], name.as_str(), "and brought up to date");
            assert_eq!(linked["externalId"], user.to_string());
            let events = event_types(store, user);
            assert!(
                !events.iter().any(|e| e == "user_create_provision"),
                "linking creates nothing"
            );
            assert_eq!(
                events
                    .iter()
                    .filter(|e| *e == "user_lookup_provision")
                    .count(),
                1,
                "the lookup that linked it is recorded: {events:?}"
            );

            // Someone deletes it in the app: the next change finds the link broken (404 on
            // PATCH), looks the name up, finds nothing and creates the account again.
            let id = existing["id"].as_str().expect("id");
            let (status, _) = downstream
                .call(Method::DELETE, &format!("/Users/{id}"), None)
                .await;
            assert_eq!(status, 204);
            users::update_user(
                &mut store.conn().expect("conn"),
                user,
                None,
                &Actor::admin("test"),
                Utc::now(),
                |u| {
                    u.display_name = Some("Back Again".into());
                    Ok(())
                },
            )
            .expect("profile change");
            drain(&dispatcher).await;
            let recreated = downstream.find(&name).await.expect("created again");
            assert_eq!(recreated["displayName"], "Back Again");
            assert_ne!(recreated["id"], existing["id"]);
            assert_eq!(
                account_of(store, resource, user).map(|a| a.remote_id),
                recreated["id"].as_str().map(str::to_owned)
            );
        });
    });
}
