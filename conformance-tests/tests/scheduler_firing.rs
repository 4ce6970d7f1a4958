//! The scheduler firing schedules made through the API, against the running server: each step
//! runs with an injected clock (`roster schedule run --now`) or on a schedule made due in the
//! database, and its effects are read back through the API, the audit trail and an LDAP bind.

use chrono::{DateTime, Duration as Span, Timelike, Utc};
use conformance_tests::admin::AdminServer;
use conformance_tests::roster_command;
use serde_json::{Value, json};

const USERSTATES: &str = "/api/v2/bulk/userstates";

/// A time two or three hours ahead at minute 35: off the 10-minute grid, at least an hour away.
fn requested_time() -> DateTime<Utc> {
    (Utc::now() + Span::hours(2))
        .with_minute(35)
        .and_then(|t| t.with_second(0))
        .and_then(|t| t.with_nanosecond(0))
        .expect("time")
}

fn schedule_for(server: &AdminServer, body: Value) -> Vec<Value> {
    let (status, created) = server.post(USERSTATES, body.clone());
    assert_eq!(status, 201, "{body}: {created}");
    created.as_array().expect("an array of results").clone()
}

fn uid(user: &Value) -> String {
    user["_id"].as_str().expect("user has an _id").to_owned()
}

fn state_via_api(server: &AdminServer, user: &Value) -> Value {
    let (status, body) = server.get(&format!("/api/systemusers/{}", uid(user)));
    assert_eq!(status, 200, "{body}");
    body["state"].clone()
}

fn count_events(server: &AdminServer, user: &Value, event_type: &str) -> usize {
    server
        .event_types(&uid(user))
        .iter()
        .filter(|t| *t == event_type)
        .count()
}

fn pending_of(server: &AdminServer, user: &Value) -> Vec<Value> {
    let (status, list) = server.get(&format!("{USERSTATES}?userid={}", uid(user)));
    assert_eq!(status, 200, "{list}");
    list.as_array().expect("array").clone()
}

/// Everything a step that fires nothing must leave alone.
fn everything(server: &AdminServer) -> (Vec<String>, i64, i64, Value) {
    (
        server.users_snapshot(),
        server.audit_count(),
        server.email_count(),
        server.get(&format!("{USERSTATES}?limit=100")).1,
    )
}

// 18-21, 23-25 and DESIGN.md §3 against the running server: schedules made through the API, the
// scheduler step run with an injected clock (`roster schedule run --now`), results read back
// through the API and the database. Nothing sleeps.
#[test]
fn schedules_fire_by_the_rules_at_an_injected_time() {
    let server = AdminServer::start();
    let r = requested_time();
    let s = r + Span::minutes(5);
    let at = |t: DateTime<Utc>| t.to_rfc3339();

    let ann = server.create_user(json!({"username": "ann", "email": "ann@corp.example"}));
    let bob = server.create_user(json!({"username": "bob", "email": "bob@corp.example"}));
    let stan = server.create_user(json!({
        "username": "stan", "email": "stan@corp.example", "alternateEmail": "stan@home.example",
        "state": "STAGED", "password": "Welcome-to-2026"
    }));
    let quiet = server.create_user(
        json!({"username": "quiet", "email": "quiet@corp.example", "state": "STAGED"}),
    );
    let mailed = server.create_user(
        json!({"username": "mailed", "email": "mailed@corp.example", "state": "STAGED"}),
    );
    let act = server.create_user(json!({"username": "act", "email": "act@corp.example"}));
    let sus = server.create_user(json!({
        "username": "sus", "email": "sus@corp.example", "state": "SUSPENDED", "department": "Ops"
    }));
    let gone = server.create_user(json!({"username": "gone", "email": "gone@corp.example"}));
    let kept = server.create_user(
        json!({"username": "kept", "email": "kept@corp.example", "state": "SUSPENDED"}),
    );
    let (status, group) = server.post("/api/v2/usergroups", json!({"name": "Engineering"}));
    assert_eq!(status, 201, "{group}");
    let members_path = format!(
        "/api/v2/usergroups/{}/members",
        group["id"].as_str().expect("group id")
    );
    let (status, _) = server.post(
        &members_path,
        json!({"op": "add", "type": "user", "id": uid(&sus)}),
    );
    assert_eq!(status, 204);

    // 16, 18: suspensions asked for :35 run at :45 - 10 = :40; activations at the minute asked.
    let suspensions = schedule_for(
        &server,
        json!({"user_ids": [uid(&ann), uid(&bob)], "state": "SUSPENDED", "start_date": at(r)}),
    );
    let expected_s = s.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert!(
        suspensions
            .iter()
            .all(|x| x["scheduledDate"] == expected_s.as_str())
    );
    let activations = schedule_for(
        &server,
        json!({"user_ids": [uid(&stan), uid(&act), uid(&sus)], "state": "ACTIVATED",
               "start_date": at(r), "send_activation_emails": true}),
    );
    let expected_r = r.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    assert!(
        activations
            .iter()
            .all(|x| x["scheduledDate"] == expected_r.as_str())
    );
    // 17: an override with send_activation_emails:false is accepted and ignored.
    schedule_for(
        &server,
        json!({"user_ids": [uid(&quiet)], "state": "ACTIVATED", "start_date": at(r),
               "send_activation_emails": false, "activation_email_override": "quiet@home.example"}),
    );
    schedule_for(
        &server,
        json!({"user_ids": [uid(&mailed)], "state": "ACTIVATED", "start_date": at(r),
               "activation_email_override": "Personal@Example.org"}),
    );
    // 22: several pending changes of each kind; the next list shows the earliest of each.
    for (state, offset) in [
        ("SUSPENDED", 0),
        ("SUSPENDED", 65),
        ("ACTIVATED", 30),
        ("ACTIVATED", 90),
    ] {
        schedule_for(
            &server,
            json!({"user_ids": [uid(&gone)], "state": state,
                   "start_date": at(r + Span::minutes(offset))}),
        );
    }
    let kept_job = schedule_for(
        &server,
        json!({"user_ids": [uid(&kept)], "state": "ACTIVATED", "start_date": at(r)}),
    )[0]["scheduledJobId"]
        .as_str()
        .expect("job id")
        .to_owned();
    // 25: creating a schedule is recorded per user and kind.
    assert_eq!(
        count_events(&server, &ann, "user_suspension_schedule_create"),
        1
    );
    assert_eq!(
        count_events(&server, &stan, "user_activation_schedule_create"),
        1
    );
    assert_eq!(
        count_events(&server, &gone, "user_activation_schedule_create"),
        2
    );
    assert_eq!(
        count_events(&server, &gone, "user_suspension_schedule_create"),
        2
    );

    let (status, next) = server.get(&format!(
        "{USERSTATES}/eventlist/next?users={},{}",
        uid(&gone),
        uid(&ann)
    ));
    assert_eq!(status, 200, "{next}");
    assert_eq!(next["events_count"], 3, "{next}");
    let mut seen: Vec<(String, String, String)> = next["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|e| {
            (
                e["systemUserId"].as_str().expect("user").to_owned(),
                e["state"].as_str().expect("state").to_owned(),
                e["scheduledDate"].as_str().expect("date").to_owned(),
            )
        })
        .collect();
    seen.sort();
    let mut expected = vec![
        (uid(&gone), "SUSPENDED".to_owned(), expected_s.clone()),
        (
            uid(&gone),
            "ACTIVATED".to_owned(),
            (r + Span::minutes(30)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        ),
        (uid(&ann), "SUSPENDED".to_owned(), expected_s.clone()),
    ];
    expected.sort();
    assert_eq!(seen, expected);
    let (_, first) = server.get(&format!(
        "{USERSTATES}/eventlist/next?users={},{}&limit=1",
        uid(&gone),
        uid(&ann)
    ));
    assert_eq!(first["events_count"], 3);
    assert_eq!(first["results"].as_array().map(Vec::len), Some(1));

    // 24: deleting a user deletes its pending schedules, each recorded.
    assert_eq!(pending_of(&server, &gone).len(), 4);
    let (status, _) = server.call("DELETE", &format!("/api/systemusers/{}", uid(&gone)), None);
    assert_eq!(status, 200);
    assert!(pending_of(&server, &gone).is_empty());
    assert_eq!(
        count_events(&server, &gone, "user_suspension_schedule_delete"),
        2
    );
    assert_eq!(
        count_events(&server, &gone, "user_activation_schedule_delete"),
        2
    );
    let gone_events = server.event_types(&uid(&gone));

    // 23, 25: a deleted schedule leaves the user alone and never fires.
    let (status, _) = server.call("DELETE", &format!("{USERSTATES}/{kept_job}"), None);
    assert_eq!(status, 204);
    assert_eq!(
        count_events(&server, &kept, "user_activation_schedule_delete"),
        1
    );
    assert_eq!(state_via_api(&server, &kept), "SUSPENDED");

    // 21: a manual suspension does not cancel the pending one.
    let (status, _) = server.put(
        &format!("/api/systemusers/{}", uid(&bob)),
        json!({"state": "SUSPENDED"}),
    );
    assert_eq!(status, 200);
    assert_eq!(pending_of(&server, &bob).len(), 1, "still pending");

    // Not a moment before: a step just before the activations fires nothing.
    let before = everything(&server);
    let early = server.run_scheduler_at(r - Span::seconds(1));
    assert_eq!(early["fired"], 0, "{early}");
    assert_eq!(
        everything(&server),
        before,
        "an early step changed something"
    );

    let act_row = |server: &AdminServer| {
        server
            .users_snapshot()
            .into_iter()
            .find(|row| row.contains(&uid(&act)))
            .expect("act's row")
    };
    let act_before = act_row(&server);
    let at_r = server.run_scheduler_at(r);
    assert_eq!(
        (
            at_r["changed"].clone(),
            at_r["skipped_activations"].clone(),
            at_r["fired"].clone()
        ),
        (json!(4), json!(1), json!(5)),
        "{at_r}"
    );
    // 20: staged users are activated, with the emails the schedule asked for (behaviour 7).
    for user in [&stan, &quiet, &mailed, &sus] {
        assert_eq!(
            state_via_api(&server, user),
            "ACTIVATED",
            "{}",
            user["username"]
        );
    }
    assert_eq!(
        server.emails_for(&uid(&stan)),
        [("welcome".to_owned(), "stan@home.example".to_owned())]
    );
    assert_eq!(
        server.emails_for(&uid(&mailed)),
        [("activation".to_owned(), "personal@example.org".to_owned())]
    );
    assert!(
        server.emails_for(&uid(&quiet)).is_empty(),
        "17: the override is ignored"
    );
    assert_eq!(count_events(&server, &quiet, "user_activation_email"), 0);
    let stan_events = server.events_for(&uid(&stan));
    let activated = stan_events
        .iter()
        .find(|e| e.event_type == "user_activated")
        .expect("user_activated");
    assert_eq!(activated.initiator_kind, "scheduler");
    // 20: a suspended user comes back with what it had, and gets no onboarding email.
    assert_eq!(count_events(&server, &sus, "user_unsuspended"), 1);
    let (_, sus_now) = server.get(&format!("/api/systemusers/{}", uid(&sus)));
    assert_eq!(sus_now["department"], "Ops");
    let (status, members) = server.get(&members_path);
    assert_eq!(status, 200);
    assert!(members.to_string().contains(&uid(&sus)), "{members}");
    assert!(
        server.emails_for(&uid(&sus)).is_empty(),
        "no onboarding email on reactivation"
    );
    // DESIGN.md §3: an activation of an active user is recorded as skipped, changes nothing.
    let skipped = server
        .events_for(&uid(&act))
        .into_iter()
        .filter(|e| e.event_type == "user_activated")
        .collect::<Vec<_>>();
    assert_eq!(skipped.len(), 1);
    assert!(
        skipped[0].details.contains("skipped"),
        "{}",
        skipped[0].details
    );
    assert_eq!(act_row(&server), act_before, "the active user is untouched");
    assert!(server.emails_for(&uid(&act)).is_empty());
    // 18: the suspensions, due at :40, have not fired at :35.
    assert_eq!(state_via_api(&server, &ann), "ACTIVATED");
    assert_eq!(pending_of(&server, &ann).len(), 1);

    let before = everything(&server);
    let early = server.run_scheduler_at(s - Span::seconds(1));
    assert_eq!(early["fired"], 0, "{early}");
    assert_eq!(
        everything(&server),
        before,
        "an early step changed something"
    );

    let (_, bob_before) = server.get(&format!("/api/systemusers/{}", uid(&bob)));
    let at_s = server.run_scheduler_at(s);
    assert_eq!(
        (
            at_s["changed"].clone(),
            at_s["repeated_suspensions"].clone(),
            at_s["fired"].clone()
        ),
        (json!(1), json!(1), json!(2)),
        "{at_s}"
    );
    // 19: exactly one user_suspended, attributed to the scheduler.
    assert_eq!(state_via_api(&server, &ann), "SUSPENDED");
    let suspended: Vec<_> = server
        .events_for(&uid(&ann))
        .into_iter()
        .filter(|e| e.event_type == "user_suspended")
        .collect();
    assert_eq!(suspended.len(), 1);
    assert_eq!(suspended[0].initiator_kind, "scheduler");
    // 21: the pending suspension of a suspended user is recorded a second time, nothing else.
    let bob_suspended: Vec<_> = server
        .events_for(&uid(&bob))
        .into_iter()
        .filter(|e| e.event_type == "user_suspended")
        .collect();
    assert_eq!(
        bob_suspended.len(),
        2,
        "the reports show bob suspended twice"
    );
    assert_eq!(bob_suspended[0].initiator_kind, "admin");
    assert_eq!(bob_suspended[1].initiator_kind, "scheduler");
    let (_, bob_after) = server.get(&format!("/api/systemusers/{}", uid(&bob)));
    assert_eq!(bob_after, bob_before, "nothing else changed");

    // 23, 24: the deleted schedule and the deleted user's schedules never fired.
    assert_eq!(state_via_api(&server, &kept), "SUSPENDED");
    assert_eq!(count_events(&server, &kept, "user_unsuspended"), 0);
    assert_eq!(server.event_types(&uid(&gone)), gone_events);
    let (_, pending) = server.get(USERSTATES);
    assert_eq!(pending, json!([]), "every schedule fired or was deleted");
    assert_eq!(server.run_scheduler_at(s + Span::days(1))["fired"], 0);

    let verify = roster_command(server.server.workdir.path())
        .args(["audit", "verify", "--database-url", &server.database.url])
        .output()
        .expect("audit verify");
    assert!(verify.status.success(), "{verify:?}");
}

// DESIGN.md §0, §1: access counts a due suspension before the scheduler has run. The server's
// scheduler waits an hour between steps; the schedule is made due by moving its run time to
// the database's "now", and the step that applies it is run with `roster schedule run`.
#[test]
fn access_counts_a_due_suspension_before_the_scheduler_runs() {
    let server = AdminServer::start_with_config("scheduler_interval_secs = 3600\n");
    let leaver = server.create_user(json!({"username": "leaver", "email": "l@corp.example"}));
    let access_path = format!("/api/v2/users/{}/access?resource=user_portal", uid(&leaver));
    let (status, before) = server.get(&access_path);
    assert_eq!(status, 200, "{before}");
    assert_eq!(before["allowed"], true, "{before}");
    let job = schedule_for(
        &server,
        json!({"user_ids": [uid(&leaver)], "state": "SUSPENDED", "start_date": requested_time().to_rfc3339()}),
    )[0]["scheduledJobId"]
        .as_str()
        .expect("job id")
        .to_owned();
    let (_, still) = server.get(&access_path);
    assert_eq!(still["allowed"], true, "not due yet: {still}");

    server.make_schedule_due(&job);
    let (status, due) = server.get(&access_path);
    assert_eq!(status, 200, "{due}");
    assert_eq!(due["allowed"], false, "{due}");
    assert_eq!(due["state"], "ACTIVATED", "the scheduler has not run");
    assert_eq!(due["effectiveState"], "SUSPENDED");
    assert_eq!(due["dueSchedule"]["id"], job.as_str());
    assert_eq!(pending_of(&server, &leaver).len(), 1, "still pending");

    let step = server.run_scheduler_at(Utc::now());
    assert_eq!(step["changed"], 1, "{step}");
    let (_, after) = server.get(&access_path);
    assert_eq!(after["allowed"], false, "{after}");
    assert_eq!(after["state"], "SUSPENDED");
    assert_eq!(after["dueSchedule"], Value::Null);
    assert_eq!(count_events(&server, &leaver, "user_suspended"), 1);
}

/// `ldapwhoami` as the user against the test slapd: its exit code (0 bound, 49 refused).
fn ldap_bind_code(username: &str, password: &str) -> Option<i32> {
    let var = |name: &str| {
        std::env::var(name)
            .unwrap_or_else(|_| panic!("{name} is not set: run this test through scripts/test"))
    };
    let output = std::process::Command::new("ldapwhoami")
        .args(["-x", "-H", &var("LDAP_URL"), "-D"])
        .arg(format!("uid={username},{}", var("LDAP_PEOPLE")))
        .args(["-w", password])
        .output()
        .expect("run ldapwhoami");
    output.status.code()
}

// 19: a scheduled suspension, once fired, locks the user's LDAP entry: the bind that worked
// before is refused with 49. The step runs at the real time (jobs it queues are dated by the
// step, and the server's dispatcher works on the real clock), so the schedule is made due by
// moving its run time to the database's "now"; the server's own scheduler waits an hour.
#[test]
fn a_scheduled_suspension_refuses_the_next_ldap_bind() {
    let server =
        AdminServer::start_with_config("email_poll_seconds = 1\nscheduler_interval_secs = 3600\n");
    let (status, resource) = server.post(
        "/api/v2/resources",
        json!({
            "name": "directory", "type": "ldap_directory",
            "url": std::env::var("LDAP_URL").expect("LDAP_URL (run through scripts/test)"),
            "bindDn": std::env::var("LDAP_ROOTDN").expect("LDAP_ROOTDN"),
            "secret": std::env::var("LDAP_ROOTPW").expect("LDAP_ROOTPW"),
            "baseDn": std::env::var("LDAP_PEOPLE").expect("LDAP_PEOPLE"),
        }),
    );
    assert_eq!(status, 201, "{resource}");
    let username = format!("sched-{}", uuid::Uuid::new_v4().simple());
    let password = "Scheduled-leaver-1";
    let user = server.create_user(json!({
        "username": username, "email": "leaver@corp.example", "password": password
    }));
    let (status, body) = server.post(
        &format!(
            "/api/v2/resources/{}/associations",
            resource["id"].as_str().expect("resource id")
        ),
        json!({"op": "add", "type": "user", "id": uid(&user)}),
    );
    assert!(status == 204 || status == 200, "{status} {body}");
    server.wait_for_provisioning();
    assert_eq!(
        ldap_bind_code(&username, password),
        Some(0),
        "active: binds"
    );

    let job = schedule_for(
        &server,
        json!({"user_ids": [uid(&user)], "state": "SUSPENDED", "start_date": requested_time().to_rfc3339()}),
    )[0]["scheduledJobId"]
        .as_str()
        .expect("job id")
        .to_owned();
    server.make_schedule_due(&job);
    let step = server.run_scheduler_at(Utc::now());
    assert_eq!(step["changed"], 1, "{step}");
    server.wait_for_provisioning();
    assert_eq!(
        ldap_bind_code(&username, password),
        Some(49),
        "suspended by the schedule: invalid credentials"
    );
    let suspended: Vec<_> = server
        .events_for(&uid(&user))
        .into_iter()
        .filter(|e| e.event_type == "user_suspended")
        .collect();
    assert_eq!(suspended.len(), 1);
    assert_eq!(suspended[0].initiator_kind, "scheduler");
}
