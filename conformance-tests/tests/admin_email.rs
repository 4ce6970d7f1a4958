//! Activation and its emails, delivered to a real SMTP listener started by the test, or written
//! as `.eml` files when no SMTP server is configured. Numbers are the behaviours of
//! reference/idp-lifecycle.md section (b).

use std::time::{Duration, Instant};

use conformance_tests::admin::AdminServer;
use conformance_tests::smtp::SmtpListener;
use serde_json::{Value, json};

fn id(user: &Value) -> String {
    user["_id"].as_str().expect("user has an _id").to_owned()
}

fn activate(server: &AdminServer, user: &Value, body: Value) -> (u16, Value) {
    server.post(
        &format!("/api/systemusers/{}/state/activate", id(user)),
        body,
    )
}

fn smtp_server(smtp: &SmtpListener) -> AdminServer {
    AdminServer::start_with_config(&format!(
        "email_poll_seconds = 1\nemail_from = \"IT <it@corp.example>\"\n\n\
         [smtp]\nhost = \"127.0.0.1\"\nport = {}\ntls = \"none\"\n",
        smtp.port
    ))
}

/// Waits until the worker has handled every queued email.
fn wait_until_delivered(server: &AdminServer) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while server.pending_email_count() > 0 {
        assert!(Instant::now() < deadline, "email still pending");
        std::thread::sleep(Duration::from_millis(100));
    }
}

// 7, 8: Welcome with a password, Activation without; address order given, alternate, primary
// (DESIGN.md §4, which applies that order to both kinds of email);
// email:false sends nothing; staged users get nothing; activating an active user is a no-op.
#[test]
fn activation_sends_the_right_email_to_the_right_address_over_smtp() {
    let smtp = SmtpListener::start();
    let server = smtp_server(&smtp);
    let with_password = server.create_user(json!({
        "username": "wes", "email": "wes@corp.example", "alternateEmail": "wes@home.example",
        "state": "STAGED", "password": "Welcome-to-2026"
    }));
    let with_alternate = server.create_user(json!({
        "username": "ava", "email": "ava@corp.example", "alternateEmail": "ava@home.example",
        "state": "STAGED"
    }));
    let primary_only = server
        .create_user(json!({"username": "pia", "email": "pia@corp.example", "state": "STAGED"}));
    let given = server
        .create_user(json!({"username": "gil", "email": "gil@corp.example", "state": "STAGED"}));
    let silent = server
        .create_user(json!({"username": "sid", "email": "sid@corp.example", "state": "STAGED"}));
    assert_eq!(
        server.email_count(),
        0,
        "8: staged users get no mail at creation"
    );

    for (user, body) in [
        (&with_password, json!({})),
        (&with_alternate, json!({"email": true})),
        (&primary_only, json!({"email": true})),
        (&given, json!({"email": "Helpdesk@Corp.example"})),
        (&silent, json!({"email": false})),
    ] {
        let (status, activated) = activate(&server, user, body);
        assert_eq!(status, 200, "{activated}");
        assert_eq!(activated["state"], "ACTIVATED");
    }
    let mails = smtp.wait_for(4, Duration::from_secs(30));
    wait_until_delivered(&server);
    assert_eq!(
        smtp.received().len(),
        4,
        "email:false sent nothing: {mails:?}"
    );
    let to = |address: &str| {
        mails
            .iter()
            .find(|m| m.to == [address])
            .unwrap_or_else(|| panic!("nothing sent to {address}: {mails:?}"))
    };
    let welcome = to("wes@home.example");
    assert!(
        welcome.data.contains("Subject: Your account is ready"),
        "{}",
        welcome.data
    );
    assert!(welcome.from.contains("it@corp.example"));
    let activation = to("ava@home.example");
    assert!(
        activation.data.contains("Subject: Activate your account"),
        "{}",
        activation.data
    );
    assert!(
        activation.data.contains("set-password?token="),
        "{}",
        activation.data
    );
    assert!(
        to("pia@corp.example")
            .data
            .contains("Activate your account")
    );
    assert!(
        to("helpdesk@corp.example")
            .data
            .contains("Activate your account")
    );

    let events = server.events_for(&id(&with_alternate));
    let types: Vec<&str> = events.iter().map(|e| e.event_type.as_str()).collect();
    assert_eq!(
        types,
        ["user_create", "user_activated", "user_activation_email"]
    );
    assert!(
        events[2].details.contains("ava@home.example"),
        "{}",
        events[2].details
    );
    assert_eq!(
        server.event_types(&id(&silent)),
        ["user_create", "user_activated"]
    );

    // Activating an active user changes nothing and sends nothing.
    let audit = server.audit_count();
    let (status, again) = activate(&server, &with_password, json!({}));
    assert_eq!((status, &again["state"]), (200, &json!("ACTIVATED")));
    assert_eq!(server.audit_count(), audit);
    assert_eq!(server.email_count(), 4);
}

// 7: reactivating a suspended user restores it without onboarding mail; bad bodies are refused.
#[test]
fn reactivation_restores_the_user_and_bad_activation_bodies_change_nothing() {
    let server = AdminServer::start();
    let user = server.create_user(json!({"username": "rex", "email": "rex@corp.example", "department": "Ops", "manager": null}));
    let path = format!("/api/systemusers/{}", id(&user));
    server.put(&path, json!({"state": "SUSPENDED"}));
    let audit = server.audit_count();
    for body in [
        json!({"email": 3}),
        json!({"mail": true}),
        json!({"email": "nope"}),
    ] {
        let (status, error) = activate(&server, &user, body);
        assert_eq!(status, 400, "{error}");
        assert_eq!(server.audit_count(), audit);
    }
    let (status, back) = activate(&server, &user, json!({}));
    assert_eq!(status, 200);
    assert_eq!(back["state"], "ACTIVATED");
    assert_eq!(back["department"], "Ops", "the same account comes back");
    assert_eq!(
        server.event_types(&id(&user)).last().map(String::as_str),
        Some("user_unsuspended")
    );
    assert_eq!(server.email_count(), 0);
    assert_eq!(
        activate(
            &server,
            &json!({"_id": "0190a0a0-0000-7000-8000-000000000000"}),
            json!({})
        )
        .0,
        404
    );
}

/// Undoes quoted-printable: soft line breaks and `=XX` escapes (only `=3D` occurs in links).
fn decode_qp(text: &str) -> String {
    text.replace("=\r\n", "").replace("=3D", "=")
}

/// The set-password token in the `.eml` file written for `address`.
fn token_in_eml(server: &AdminServer, address: &str) -> String {
    let dir = server.server.workdir.path().join("roster-data/mail");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = std::fs::read_dir(&dir)
            .ok()
            .into_iter()
            .flatten()
            .flatten()
            .find_map(|entry| {
                let text = decode_qp(&std::fs::read_to_string(entry.path()).ok()?);
                let is_eml = entry.path().extension().is_some_and(|e| e == "eml");
                (is_eml && text.contains(&format!("To: {address}"))).then_some(text)
            });
        if let Some(text) = found {
            let start = text.find("token=").expect("a link with a token") + "token=".len();
            return text[start..]
                .chars()
                .take_while(char::is_ascii_hexdigit)
                .collect();
        }
        assert!(
            Instant::now() < deadline,
            "no .eml for {address} in {}",
            dir.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

// 54 and the one-time link: with no SMTP configured the Activation email is an .eml file; its
// link sets the password once; a suspended user cannot use it (403, nothing changes).
#[test]
fn without_smtp_mail_is_written_to_files_and_the_link_sets_the_password_once() {
    let server = AdminServer::start();
    let ann = server
        .create_user(json!({"username": "ann", "email": "ann@corp.example", "state": "STAGED"}));
    let sue = server
        .create_user(json!({"username": "sue", "email": "sue@corp.example", "state": "STAGED"}));
    assert_eq!(activate(&server, &ann, json!({})).0, 200);
    assert_eq!(activate(&server, &sue, json!({})).0, 200);
    let ann_token = token_in_eml(&server, "ann@corp.example");
    let sue_token = token_in_eml(&server, "sue@corp.example");
    assert_eq!(ann_token.len(), 64);

    let http = conformance_tests::client();
    let set = |token: &str, password: &str| {
        let response = http
            .post(server.server.url("/api/password/set"))
            .json(&json!({"token": token, "password": password}))
            .send()
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json::<Value>().unwrap_or(Value::Null))
    };
    let (status, error) = set(&ann_token, "weak");
    assert_eq!(status, 400);
    assert!(
        error["message"]
            .as_str()
            .expect("message")
            .contains("at least 12"),
        "{error}"
    );
    assert_eq!(set(&ann_token, "Chosen-by-Ann-1").0, 200);
    let (_, stored) = server.get(&format!("/api/systemusers/{}", id(&ann)));
    assert_eq!(stored["activated"], true);
    assert_eq!(
        server.event_types(&id(&ann)).last().map(String::as_str),
        Some("user_password_set")
    );
    assert_eq!(
        set(&ann_token, "Chosen-by-Ann-2").0,
        400,
        "the link works once"
    );

    server.put(
        &format!("/api/systemusers/{}", id(&sue)),
        json!({"state": "SUSPENDED"}),
    );
    let audit = server.audit_count();
    let emails = server.email_count();
    let (status, refused) = set(&sue_token, "Chosen-by-Sue-1");
    assert_eq!(status, 403, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .expect("message")
            .contains("suspended"),
        "{refused}"
    );
    assert_eq!(server.audit_count(), audit);
    assert_eq!(
        server.email_count(),
        emails,
        "no email for a suspended user"
    );
    let (_, stored) = server.get(&format!("/api/systemusers/{}", id(&sue)));
    assert_eq!(stored["activated"], false);
}

// The email's link opens a page with a form; the form sets the password once, under the same
// policy as the API, and says what is wrong when it refuses.
#[test]
fn the_link_opens_a_page_that_sets_the_password() {
    let server = AdminServer::start();
    let bob = server
        .create_user(json!({"username": "bob", "email": "bob@corp.example", "state": "STAGED"}));
    assert_eq!(activate(&server, &bob, json!({})).0, 200);
    let token = token_in_eml(&server, "bob@corp.example");
    let http = conformance_tests::client();
    let page = http
        .get(server.server.url(&format!("/set-password?token={token}")))
        .send()
        .expect("open the link");
    assert_eq!(page.status().as_u16(), 200);
    assert_eq!(
        page.headers()["cache-control"].to_str().expect("header"),
        "no-store"
    );
    let html = page.text().expect("html");
    assert!(
        html.contains(&format!("name=\"token\" value=\"{token}\"")),
        "{html}"
    );
    assert!(html.contains("type=\"password\""), "{html}");

    let submit = |password: &str, confirm: &str| {
        let response = http
            .post(server.server.url("/set-password"))
            .form(&[
                ("token", token.as_str()),
                ("password", password),
                ("confirm", confirm),
            ])
            .send()
            .expect("submit");
        (response.status().as_u16(), response.text().expect("html"))
    };
    let audit = server.audit_count();
    let (status, html) = submit("Chosen-by-Bob-1", "Chosen-by-Bob-2");
    assert_eq!(status, 400);
    assert!(html.contains("differ"), "{html}");
    let (status, html) = submit("weak", "weak");
    assert_eq!(status, 400);
    assert!(html.contains("at least 12"), "{html}");
    assert_eq!(server.audit_count(), audit, "refusals change nothing");

    let (status, html) = submit("Chosen-by-Bob-1", "Chosen-by-Bob-1");
    assert_eq!(status, 200, "{html}");
    assert!(html.contains("password is set"), "{html}");
    let (_, stored) = server.get(&format!("/api/systemusers/{}", id(&bob)));
    assert_eq!(stored["activated"], true);
    let (status, _) = submit("Chosen-by-Bob-3", "Chosen-by-Bob-3");
    assert_eq!(status, 400, "the link works once");

    let no_token = http
        .get(server.server.url("/set-password"))
        .send()
        .expect("open");
    assert_eq!(no_token.status().as_u16(), 400);
}

// 8, 54: a reset request mails an active user a link, mails a staged user nothing (recorded),
// refuses a suspended user with 403 and changes nothing; an unknown name looks like success.
#[test]
fn password_reset_requests_follow_the_state() {
    let smtp = SmtpListener::start();
    let server = smtp_server(&smtp);
    let active = server.create_user(json!({"username": "act", "email": "act@corp.example"}));
    let staged = server
        .create_user(json!({"username": "stg", "email": "stg@corp.example", "state": "STAGED"}));
    server
        .create_user(json!({"username": "sus", "email": "sus@corp.example", "state": "SUSPENDED"}));
    let http = conformance_tests::client();
    let request = |username: &str| {
        let response = http
            .post(server.server.url("/api/password/reset-request"))
            .json(&json!({ "username": username }))
            .send()
            .expect("request");
        let status = response.status().as_u16();
        (status, response.json::<Value>().unwrap_or(Value::Null))
    };

    assert_eq!(request("act").0, 202);
    let mails = smtp.wait_for(1, Duration::from_secs(30));
    assert_eq!(mails[0].to, ["act@corp.example"]);
    assert!(
        mails[0].data.contains("Subject: Reset your password"),
        "{}",
        mails[0].data
    );
    assert_eq!(
        server.event_types(&id(&active)).last().map(String::as_str),
        Some("user_password_reset_request")
    );

    assert_eq!(request("stg").0, 202);
    let events = server.events_for(&id(&staged));
    let last = events.last().expect("events");
    assert_eq!(last.event_type, "user_password_reset_request");
    assert!(last.details.contains("suppressed"), "{}", last.details);

    let (audit, emails) = (server.audit_count(), server.email_count());
    let (status, refused) = request("sus");
    assert_eq!(status, 403, "{refused}");
    assert!(
        refused["message"]
            .as_str()
            .expect("message")
            .contains("suspended")
    );
    assert_eq!(request("nobody").0, 202);
    assert_eq!(
        (server.audit_count(), server.email_count()),
        (audit, emails)
    );
    wait_until_delivered(&server);
    assert_eq!(smtp.received().len(), 1, "only the active user got mail");
}
