//! The provisioning admin API in process, on each backend: resources and their refusals,
//! associations, user groups, the access check (with a due schedule) and parked jobs.

use actix_web::{App, test, web};
use chrono::{Duration, Utc};
use diesel::prelude::*;
use serde_json::{Value, json};

use super::AppState;
use super::admin_auth::API_KEY_HEADER;
use crate::domain::{CreationMethod, LifecycleState, UserId};
use crate::service::api_keys;
use crate::service::users::{self, Actor, NewUser};
use crate::store::testing::{databases, sample_user};
use crate::store::{Store, audit, outbox};

fn user(store: &Store, name: &str, state: LifecycleState) -> UserId {
    users::create_user(
        &mut store.conn().expect("conn"),
        NewUser {
            user: sample_user(name),
            requested_state: Some(state),
            method: CreationMethod::AdminApi,
        },
        &Actor::admin("test"),
        Utc::now(),
    )
    .expect("create")
    .id
}

macro_rules! call {
    ($app:expr, $key:expr, $method:ident, $uri:expr) => {
        call!($app, $key, $method, $uri, Value::Null)
    };
    ($app:expr, $key:expr, $method:ident, $uri:expr, $body:expr) => {{
        let mut request = test::TestRequest::$method()
            .uri(&String::from($uri))
            .insert_header((API_KEY_HEADER, $key.as_str()));
        if $body != Value::Null {
            request = request.set_json($body);
        }
        let response = test::call_service(&$app, request.to_request()).await;
        let status = response.status().as_u16();
        let bytes = test::read_body(response).await;
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, body)
    }};
}

fn ldap_body(name: &str) -> Value {
    json!({
        "name": name, "type": "ldap_directory", "url": "ldap://127.0.0.1:1",
        "bindDn": "cn=admin,dc=example,dc=com", "secret": "s3cret-bind-pw", "baseDn": "ou=people,dc=example,dc=com",
    })
}

fn counts(store: &Store) -> (i64, i64) {
    let mut conn = store.conn().expect("conn");
    (
        audit::count(&mut conn).expect("audit"),
        outbox::pending_count(&mut conn).expect("outbox"),
    )
}

#[actix_web::test]
async fn resources_keep_secrets_and_refuse_bad_input_without_changing_anything() {
    for database in databases() {
        let store = database.store.clone();
        let key = api_keys::create(&mut store.conn().expect("conn"), "admin", Utc::now())
            .expect("key")
            .key;
        let app = test::init_service(
            App::new()
                .app_data(web::Data::new(AppState::new(store.clone())))
                .configure(super::routes),
        )
        .await;

        let (status, created) = call!(app, key, post, "/api/v2/resources", ldap_body("Corp LDAP"));
        assert_eq!(status, 201, "{created}");
        assert_eq!(created["hasSecret"], true);
        assert!(!created.to_string().contains("s3cret-bind-pw"), "{created}");
        let (_, listed) = call!(app, key, get, "/api/v2/resources");
        assert!(!listed.to_string().contains("s3cret-bind-pw"));
        assert_eq!(listed.as_array().map(Vec::len), Some(1));

        let before = counts(&store);
        for (body, expected) in [
            (
                json!({ "name": "x", "type": "mainframe" }),
                "unknown resource type",
            ),
            (
                json!({ "name": "x", "type": "ldap_directory", "url": "http://x", "bindDn": "cn=a", "secret": "s", "baseDn": "o=x" }),
                "ldap://",
            ),
            (
                json!({ "name": "x", "type": "ldap_directory", "url": "ldap://x", "secret": "s", "baseDn": "o=x" }),
                "bindDn is required",
            ),
            (
                json!({ "name": "x", "type": "scim_app", "url": "https://app" }),
                "bearer token",
            ),
            (
                json!({ "name": "x", "type": "scim_app", "secret": "t0ken" }),
                "url (the app's SCIM base URL) is required",
            ),
            (
                json!({ "name": "x", "type": "scim_app", "url": "ftp://app/scim", "secret": "t0ken" }),
                "url must start with https:// or http://",
            ),
            (
                json!({ "name": "x", "type": "scim_app", "url": "app.example.com/scim", "secret": "t0ken" }),
                "url is not a URL",
            ),
            (
                json!({ "name": "x", "type": "scim_app", "url": "https://app/scim?token=t0ken", "secret": "t0ken" }),
                "url must not have a query",
            ),
            (
                json!({ "name": "x", "type": "radius", "url": "ldap://x" }),
                "takes no url",
            ),
            (json!({ "name": " ", "type": "radius" }), "name must be"),
            (
                json!({ "name": "x", "type": "radius", "colour": "red" }),
                "unknown field",
            ),
            (ldap_body("corp ldap"), "resource name"),
            (
                json!({ "name": "x", "type": "ldap_directory", "url": "ldap://x", "bindDn": "cn=a", "secret": "s", "baseDn": "o=x", "options": { "posixAccount": "yes" } }),
                "options.posixAccount: must be true or false",
            ),
            (
                json!({ "name": "x", "type": "ldap_directory", "url": "ldap://x", "bindDn": "cn=a", "secret": "s", "baseDn": "o=x", "options": { "posixAccount": true, "loginShell": "bash" } }),
                "options.loginShell: must be an absolute path",
            ),
            (
                json!({ "name": "x", "type": "scim_app", "url": "https://app/scim", "secret": "t0ken", "options": { "posixAccount": true } }),
                "only an ldap_directory takes the POSIX options",
            ),
        ] {
            let (status, error) = call!(app, key, post, "/api/v2/resources", body.clone());
            assert!(status == 400 || status == 409, "{body} → {status} {error}");
            assert!(
                error["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains(expected),
                "{body} → {error}"
            );
            assert!(error["error"].is_string());
        }
        assert_eq!(counts(&store), before, "refusals change nothing");
        let (_, listed) = call!(app, key, get, "/api/v2/resources");
        assert_eq!(listed.as_array().map(Vec::len), Some(1));
        let (status, _) = call!(app, key, get, "/api/v2/resources/not-an-id");
        assert_eq!(status, 404);

        let (status, app_created) = call!(
            app,
            key,
            post,
            "/api/v2/resources",
            json!({ "name": "Wiki", "type": "scim_app", "url": "https://wiki.example.com/scim/v2", "secret": "bearer-t0ken-9z", "options": { "deactivateOnDelete": true } })
        );
        assert_eq!(status, 201, "{app_created}");
        assert_eq!(app_created["hasSecret"], true);
        assert_eq!(app_created["options"]["deactivateOnDelete"], true);
        assert!(!app_created.to_string().contains("bearer-t0ken-9z"));
    }
}

#[actix_web::test]
async fn bindings_through_groups_queue_jobs_and_decide_access() {
    for database in databases() {
        let store = database.store.clone();
        let key = api_keys::create(&mut store.conn().expect("conn"), "admin", Utc::now())
            .expect("key")
            .key;
        let app = test::init_service(
            App::new()
                .app_data(web::Data::new(AppState::new(store.clone())))
                .configure(super::routes),
        )
        .await;
        let (_, ldap) = call!(app, key, post, "/api/v2/resources", ldap_body("LDAP"));
        let (_, radius) = call!(
            app,
            key,
            post,
            "/api/v2/resources",
            json!({ "name": "VPN", "type": "radius" })
        );
        let (ldap_id, radius_id) = (
            ldap["id"].as_str().expect("id").to_owned(),
            radius["id"].as_str().expect("id").to_owned(),
        );
        let alice = user(&store, "alice", LifecycleState::Activated);
        let bob = user(&store, "bob", LifecycleState::Staged);

        let (status, group) = call!(
            app,
            key,
            post,
            "/api/v2/usergroups",
            json!({ "name": "Engineering" })
        );
        assert_eq!(status, 201, "{group}");
        assert_eq!(group["type"], "user_group");
        let group_id = group["id"].as_str().expect("id").to_owned();
        for member in [alice, bob] {
            let (status, body) = call!(
                app,
                key,
                post,
                format!("/api/v2/usergroups/{group_id}/members"),
                json!({ "op": "add", "type": "user", "id": member.to_string() })
            );
            assert_eq!(status, 204, "{body}");
        }
        let (_, members) = call!(
            app,
            key,
            get,
            format!("/api/v2/usergroups/{group_id}/members")
        );
        assert_eq!(members.as_array().map(Vec::len), Some(2));

        let before = counts(&store);
        let (status, _) = call!(
            app,
            key,
            post,
            format!("/api/v2/resources/{ldap_id}/associations"),
            json!({ "op": "add", "type": "user_group", "id": group_id })
        );
        assert_eq!(status, 204);
        assert_eq!(
            counts(&store).1,
            before.1 + 2,
            "one job per member for the LDAP directory"
        );
        call!(
            app,
            key,
            post,
            format!("/api/v2/resources/{radius_id}/associations"),
            json!({ "op": "add", "type": "user", "id": alice.to_string() })
        );
        assert_eq!(
            counts(&store).1,
            before.1 + 2,
            "RADIUS has no connector: no job"
        );

        // Refusals name the problem and change nothing.
        let before = counts(&store);
        for (body, expected) in [
            (
                json!({ "op": "merge", "type": "user", "id": alice.to_string() }),
                "op must be",
            ),
            (
                json!({ "op": "add", "type": "device", "id": alice.to_string() }),
                "type must be",
            ),
            (
                json!({ "op": "add", "type": "user", "id": UserId::generate().to_string() }),
                "no user has id",
            ),
        ] {
            let (status, error) = call!(
                app,
                key,
                post,
                format!("/api/v2/resources/{ldap_id}/associations"),
                body.clone()
            );
            assert_eq!(status, 400, "{body}");
            assert!(
                error["message"]
                    .as_str()
                    .unwrap_or_default()
                    .contains(expected),
                "{error}"
            );
        }
        assert_eq!(counts(&store), before);

        let access = |user: UserId, resource: &str| {
            format!("/api/v2/users/{user}/access?resource={resource}")
        };
        let (_, answer) = call!(app, key, get, access(alice, &ldap_id));
        assert_eq!(answer["allowed"], true, "{answer}");
        let (_, answer) = call!(app, key, get, access(bob, &ldap_id));
        assert_eq!(answer["allowed"], false);
        assert!(
            answer["reason"]
                .as_str()
                .unwrap_or_default()
                .contains("staged")
        );
        let (_, answer) = call!(app, key, get, access(bob, &radius_id));
        assert!(
            answer["reason"]
                .as_str()
                .unwrap_or_default()
                .contains("not bound"),
            "{answer}"
        );
        let (_, answer) = call!(app, key, get, access(alice, "user_portal"));
        assert_eq!(answer["allowed"], true);

        // A suspension that fell due (after the last state change, before now) counts before
        // the scheduler runs.
        {
            use crate::store::schema::schedules;
            let mut conn = store.conn().expect("conn");
            let changed = crate::store::users::find(&mut conn, alice)
                .expect("find")
                .expect("alice")
                .state_changed_at;
            let due_at = changed + Duration::microseconds(1);
            diesel::insert_into(schedules::table)
                .values((
                    schedules::id.eq(uuid::Uuid::now_v7().to_string()),
                    schedules::user_id.eq(alice.to_string()),
                    schedules::target_state.eq("SUSPENDED"),
                    schedules::requested_at.eq((changed - Duration::hours(2)).naive_utc()),
                    schedules::run_at.eq(due_at.naive_utc()),
                    schedules::send_activation_email.eq(false),
                    schedules::created_by.eq("test"),
                    schedules::created_at.eq((changed - Duration::hours(2)).naive_utc()),
                ))
                .execute(&mut conn)
                .expect("schedule");
        }
        let (_, answer) = call!(app, key, get, access(alice, &radius_id));
        assert_eq!(answer["allowed"], false, "{answer}");
        assert_eq!(answer["state"], "ACTIVATED");
        assert_eq!(answer["effectiveState"], "SUSPENDED");
        assert!(
            answer["reason"]
                .as_str()
                .unwrap_or_default()
                .contains("fell due")
        );

        let (status, error) = call!(app, key, get, format!("/api/v2/users/{alice}/access"));
        assert_eq!(status, 400);
        assert!(
            error["message"]
                .as_str()
                .unwrap_or_default()
                .contains("resource")
        );
        let (status, _) = call!(app, key, get, access(UserId::generate(), &ldap_id));
        assert_eq!(status, 404);

        // Deleting the group unbinds it and queues its former members.
        let before = counts(&store);
        let (status, _) = call!(app, key, delete, format!("/api/v2/usergroups/{group_id}"));
        assert_eq!(status, 204);
        assert_eq!(counts(&store).1, before.1 + 2);
        let (_, bound) = call!(
            app,
            key,
            get,
            format!("/api/v2/resources/{ldap_id}/associations")
        );
        assert_eq!(bound, json!([]));
        let (_, answer) = call!(app, key, get, access(bob, &ldap_id));
        assert_eq!(answer["bound"], false);

        let (_, parked) = call!(app, key, get, "/api/v2/provisioning/jobs?status=parked");
        assert_eq!(parked, json!([]));
        let (status, _) = call!(app, key, post, "/api/v2/provisioning/jobs/999999/retry");
        assert_eq!(status, 404);
        let (status, _) = call!(app, key, get, "/api/v2/provisioning/jobs?status=bogus");
        assert_eq!(status, 400);
    }
}
