//! Faults of a SCIM app, injected by a proxy in front of a real downstream Roster: a refused
//! token pauses the app until it is resumed, rate limits and outages are retried (honouring
//! `Retry-After`) and then applied, a refused request is parked with the app's detail for an
//! admin to retry. The admin side goes through the admin API in process.

use actix_web::{App, test, web};
use chrono::{Duration, Utc};
use serde_json::{Value, json};

use super::scim_test_servers::{Downstream, Fault, FaultProxy};
use super::scim_tests::{scim_resource, unique_name};
use super::tests::{drain, drain_at, fast_options, set_state, staged_user_bound_to};
use super::{Dispatcher, DispatcherOptions};
use crate::domain::LifecycleState;
use crate::http::AppState;
use crate::http::admin_auth::API_KEY_HEADER;
use crate::service::api_keys;
use crate::store::testing::databases;
use crate::store::{audit, outbox, resources};

macro_rules! admin_app {
    ($store:expr) => {
        test::init_service(
            App::new()
                .app_data(web::Data::new(AppState::new($store.clone())))
                .configure(crate::http::routes),
        )
        .await
    };
}

macro_rules! call {
    ($app:expr, $key:expr, $method:ident, $uri:expr) => {{
        let request = test::TestRequest::$method()
            .uri(&String::from($uri))
            .insert_header((API_KEY_HEADER, $key.as_str()))
            .to_request();
        let response = test::call_service(&$app, request).await;
        let status = response.status().as_u16();
        let bytes = test::read_body(response).await;
        let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        (status, body)
    }};
}

fn admin_key(store: &crate::store::Store) -> String {
    api_keys::create(&mut store.conn().expect("conn"), "admin", Utc::now())
        .expect("key")
        .key
}

fn pause_reason(
    store: &crate::store::Store,
    resource: crate::domain::ResourceId,
) -> Option<String> {
    resources::find(&mut store.conn().expect("conn"), resource)
        .expect("find")
        .expect("resource")
        .paused
        .map(|p| p.reason)
}

#[actix_web::test]
async fn a_refused_token_pauses_the_app_until_an_admin_resumes_it() {
    for database in databases() {
        let store = database.store.clone();
        let app = admin_app!(store);
        let key = admin_key(&store);
        let downstream = Downstream::start();
        let proxy = FaultProxy::start(&downstream);
        let resource = scim_resource(&store, &proxy.base_url, &downstream.token, json!({}));
        let name = unique_name();
        let user = staged_user_bound_to(&store, resource, &name, "Pass-1");
        set_state(&store, user, LifecycleState::Activated);
        let dispatcher = Dispatcher::new(store.clone(), fast_options());

        proxy.always(Some(Fault::any(401)));
        let report = dispatcher.round(Utc::now()).await.expect("round");
        assert_eq!(report.retried, 1, "{report:?}");
        let reason = pause_reason(&store, resource).expect("paused");
        assert!(
            reason.contains("bearer token") && reason.contains("401"),
            "{reason}"
        );
        assert!(!reason.contains(&downstream.token), "the token never shows");
        // Paused: nothing is claimed, the job keeps its attempts, and a probe that still gets
        // 401 leaves the app paused.
        assert_eq!(
            dispatcher.round(Utc::now()).await.expect("round").claimed,
            0
        );
        let jobs = outbox::jobs_of_user(&mut store.conn().expect("conn"), user).expect("jobs");
        assert!(
            jobs.iter()
                .all(|j| j.status == "pending" && j.attempts == 0),
            "{jobs:?}"
        );
        dispatcher.probe_paused(Utc::now()).await;
        assert!(pause_reason(&store, resource).is_some());
        let (_, shown) = call!(app, key, get, format!("/api/v2/resources/{resource}"));
        assert_eq!(shown["paused"]["reason"], reason.as_str(), "{shown}");
        assert_eq!(downstream.find(&name).await, None);

        // The admin fixes the token in the app, then resumes.
        proxy.always(None);
        let (status, _) = call!(
            app,
            key,
            post,
            format!("/api/v2/resources/{resource}/resume")
        );
        assert_eq!(status, 204);
        assert_eq!(pause_reason(&store, resource), None);
        drain(&dispatcher).await;
        let remote = downstream
            .find(&name)
            .await
            .expect("applied after the resume");
        assert_eq!(remote["active"], true);
    }
}

#[actix_web::test]
async fn an_app_whose_calls_keep_failing_is_paused_and_resumes_when_it_answers() {
    for database in databases() {
        let store = database.store.clone();
        let downstream = Downstream::start();
        let proxy = FaultProxy::start(&downstream);
        let resource = scim_resource(&store, &proxy.base_url, &downstream.token, json!({}));
        let names: Vec<String> = (0..3).map(|_| unique_name()).collect();
        for name in &names {
            let user = staged_user_bound_to(&store, resource, name, "Pass-1");
            set_state(&store, user, LifecycleState::Activated);
        }
        let options = DispatcherOptions {
            pause_after_failures: 2,
            ..fast_options()
        };
        let dispatcher = Dispatcher::new(store.clone(), options);

        proxy.always(Some(Fault::any(503)));
        for hour in 1..=3 {
            dispatcher
                .round(Utc::now() + Duration::hours(hour))
                .await
                .expect("round");
        }
        let reason = pause_reason(&store, resource).expect("paused");
        assert!(reason.contains("consecutive calls failed"), "{reason}");
        assert!(
            outbox::jobs_with_status(&mut store.conn().expect("conn"), "parked", 10)
                .expect("parked")
                .is_empty(),
            "outages park nothing"
        );

        proxy.always(None);
        dispatcher.probe_paused(Utc::now()).await;
        assert_eq!(pause_reason(&store, resource), None, "resumed by the probe");
        drain_at(&dispatcher, Utc::now() + Duration::hours(4)).await;
        for name in &names {
            assert!(downstream.find(name).await.is_some(), "{name}");
        }
    }
}

#[actix_web::test]
async fn rate_limits_and_outages_are_retried_then_applied() {
    for database in databases() {
        let store = database.store.clone();
        let downstream = Downstream::start();
        let proxy = FaultProxy::start(&downstream);
        let resource = scim_resource(&store, &proxy.base_url, &downstream.token, json!({}));
        let name = unique_name();
        let user = staged_user_bound_to(&store, resource, &name, "Pass-1");
        set_state(&store, user, LifecycleState::Activated);
        let dispatcher = Dispatcher::new(store.clone(), fast_options());

        proxy.queue(Fault {
            retry_after: Some("7"),
            ..Fault::any(429)
        });
        proxy.queue(Fault::any(503));
        let now = Utc::now();
        assert_eq!(dispatcher.round(now).await.expect("round").retried, 1);
        let jobs = outbox::jobs_of_user(&mut store.conn().expect("conn"), user).expect("jobs");
        let job = jobs
            .iter()
            .find(|j| j.status == "pending")
            .expect("pending");
        assert!(
            job.next_attempt_at >= now + Duration::seconds(7),
            "Retry-After honoured: {job:?}"
        );
        assert!(
            job.last_error.as_deref().is_some_and(|e| e.contains("429")),
            "{job:?}"
        );
        assert_eq!(
            dispatcher
                .round(now + Duration::seconds(3))
                .await
                .expect("round")
                .claimed,
            0,
            "not before the app said"
        );
        let report = dispatcher
            .round(now + Duration::seconds(8))
            .await
            .expect("round");
        assert_eq!(report.retried, 1, "the 503: {report:?}");
        assert_eq!(
            pause_reason(&store, resource),
            None,
            "two failures pause nothing"
        );
        drain_at(&dispatcher, now + Duration::hours(1)).await;

        let remote = downstream.find(&name).await.expect("applied");
        assert_eq!(remote["active"], true);
        let seen = proxy.seen();
        assert!(
            seen.starts_with(&[
                "GET /scim/v2/Users 429".to_owned(),
                "GET /scim/v2/Users 503".to_owned(),
                "GET /scim/v2/Users 200".to_owned(),
                "POST /scim/v2/Users 201".to_owned(),
            ]),
            "{seen:?}"
        );
        assert_eq!(
            audit::for_resource(&mut store.conn().expect("conn"), &user.to_string())
                .expect("events")
                .iter()
                .filter(|e| e.event_type == "user_create_provision")
                .count(),
            1
        );
    }
}

#[actix_web::test]
async fn a_refused_request_is_parked_with_the_apps_detail_and_can_be_retried() {
    for database in databases() {
        let store = database.store.clone();
        let app = admin_app!(store);
        let key = admin_key(&store);
        let downstream = Downstream::start();
        let proxy = FaultProxy::start(&downstream);
        let resource = scim_resource(&store, &proxy.base_url, &downstream.token, json!({}));
        let name = unique_name();
        let user = staged_user_bound_to(&store, resource, &name, "Pass-1");
        set_state(&store, user, LifecycleState::Activated);
        let dispatcher = Dispatcher::new(store.clone(), fast_options());

        proxy.queue(Fault {
            method: Some("POST"),
            detail: "userName is reserved in this app",
            ..Fault::any(400)
        });
        let report = dispatcher.round(Utc::now()).await.expect("round");
        assert_eq!(report.parked, 1, "{report:?}");
        let (status, parked) = call!(app, key, get, "/api/v2/provisioning/jobs?status=parked");
        assert_eq!(status, 200);
        let parked = parked.as_array().cloned().unwrap_or_default();
        assert_eq!(parked.len(), 1, "{parked:?}");
        assert_eq!(parked[0]["userId"], user.to_string());
        assert_eq!(
            parked[0]["lastError"],
            "POST /Users answered 400: userName is reserved in this app"
        );
        let events = audit::for_resource(&mut store.conn().expect("conn"), &user.to_string())
            .expect("events");
        let failed = events
            .iter()
            .find(|e| e.event_type == "user_update_provision")
            .expect("error event");
        assert!(
            failed.details.contains("\"success\":false"),
            "{}",
            failed.details
        );
        assert_eq!(
            dispatcher.round(Utc::now()).await.expect("round").claimed,
            0
        );
        assert_eq!(downstream.find(&name).await, None);

        let id = parked[0]["id"].as_i64().expect("id");
        let (status, _) = call!(
            app,
            key,
            post,
            format!("/api/v2/provisioning/jobs/{id}/retry")
        );
        assert_eq!(status, 204);
        drain(&dispatcher).await;
        assert!(downstream.find(&name).await.is_some(), "applied on retry");
        let (_, parked) = call!(app, key, get, "/api/v2/provisioning/jobs?status=parked");
        assert_eq!(parked, json!([]));
    }
}
