use chrono::Utc;
use scim_v2::filter::{AttrPath, Filter};
use serde_json::json;

use super::*;
use crate::domain::audit::{AuditResource, EventType, Initiator, NewAuditEvent};
use crate::domain::{Email, LifecycleState};
use crate::store::testing::{on_each_backend, sample_user};
use crate::store::users::{UserChange, apply_user_change};

fn event(user: &User) -> NewAuditEvent {
    NewAuditEvent {
        event_type: EventType::UserCreate,
        initiated_by: Initiator::admin("test"),
        resource: AuditResource::user(user.id, user.username.as_str()),
        details: json!({}),
    }
}

fn seed(conn: &mut DbConnection) -> Vec<User> {
    let mut alice = sample_user("Alice.Smith");
    alice.email = Email::parse("email", "alice@work.example").expect("email");
    alice.alternate_email =
        Some(Email::parse("alternateEmail", "alice@home.example").expect("email"));
    alice.external_id = Some("okta-100".into());
    alice.job_title = Some("Engineer".into());
    alice.state = LifecycleState::Activated;
    let mut bob = sample_user("bob");
    bob.email = Email::parse("email", "bob@work.example").expect("email");
    bob.job_title = Some("50%_off\\deal".into());
    bob.state = LifecycleState::Suspended;
    let mut carol = sample_user("carol");
    carol.email = Email::parse("email", "carol@work.example").expect("email");
    carol.state = LifecycleState::Staged;
    let users = vec![alice, bob, carol];
    for user in &users {
        apply_user_change(
            conn,
            UserChange::Create(user),
            vec![event(user)],
            Utc::now(),
        )
        .expect("create");
    }
    users
}

fn names(conn: &mut DbConnection, filter: &str) -> Vec<String> {
    let filter: Filter = filter.parse().expect("filter parses");
    let page = search_users(
        conn,
        Some(&filter),
        None,
        &Window {
            skip: 0,
            limit: 100,
        },
    )
    .unwrap_or_else(|error| panic!("{filter}: {error}"));
    assert_eq!(page.total, page.items.len() as i64);
    page.items
        .into_iter()
        .map(|u| u.username.to_string())
        .collect()
}

fn refusal(conn: &mut DbConnection, filter: &str) -> String {
    let filter: Filter = filter.parse().expect("filter parses");
    match search_users(
        conn,
        Some(&filter),
        None,
        &Window {
            skip: 0,
            limit: 100,
        },
    ) {
        Err(QueryError::InvalidFilter(message)) => message,
        other => panic!("{filter}: expected invalidFilter, got {other:?}"),
    }
}

#[test]
fn filters_run_in_sql_with_scim_case_rules() {
    on_each_backend(|store| {
        let conn = &mut store.conn().expect("conn");
        seed(conn);
        assert_eq!(names(conn, r#"userName eq "ALICE.SMITH""#), ["Alice.Smith"]);
        assert_eq!(names(conn, r#"USERNAME Eq "alice.smith""#), ["Alice.Smith"]);
        assert_eq!(names(conn, r#"externalId eq "okta-100""#), ["Alice.Smith"]);
        assert!(
            names(conn, r#"externalId eq "OKTA-100""#).is_empty(),
            "externalId is caseExact"
        );
        assert_eq!(names(conn, r#"userName sw "AL""#), ["Alice.Smith"]);
        assert_eq!(names(conn, r#"title co "%_OFF\\""#), ["bob"]);
        assert!(
            names(conn, r#"title co "%x""#).is_empty(),
            "wildcards match literally"
        );
        assert_eq!(
            names(
                conn,
                r#"emails[type eq "work" and value eq "BOB@work.example"]"#
            ),
            ["bob"]
        );
        assert_eq!(
            names(
                conn,
                r#"emails[type eq "other" and value ew "home.example"]"#
            ),
            ["Alice.Smith"]
        );
        assert!(
            names(
                conn,
                r#"emails[type eq "work" and value eq "alice@home.example"]"#
            )
            .is_empty()
        );
        assert_eq!(
            names(conn, r#"emails.value eq "alice@home.example""#),
            ["Alice.Smith"]
        );
        assert_eq!(names(conn, "active eq true"), ["Alice.Smith"]);
        assert_eq!(names(conn, "active eq false"), ["bob", "carol"]);
        assert_eq!(names(conn, "not (title pr)"), ["carol"]);
        assert_eq!(names(conn, r#"title ne "Engineer""#), ["bob", "carol"]);
        assert_eq!(
            names(
                conn,
                r#"(userName eq "bob" or userName eq "carol") and not (active eq true)"#
            ),
            ["bob", "carol"]
        );
        assert_eq!(
            names(
                conn,
                r#"urn:ietf:params:scim:schemas:extension:roster:2.0:User:state eq "STAGED""#
            ),
            ["carol"]
        );
        assert_eq!(
            names(conn, r#"meta.created gt "2000-01-01T00:00:00Z""#).len(),
            3
        );
    });
}

#[test]
fn unknown_attributes_and_constructs_are_named() {
    on_each_backend(|store| {
        let conn = &mut store.conn().expect("conn");
        assert!(refusal(conn, r#"nickName eq "x""#).contains("nickName"));
        assert!(refusal(conn, r#"phoneNumbers[type eq "work"]"#).contains("phoneNumbers"));
        assert!(refusal(conn, r#"emails[display eq "x"]"#).contains("display"));
        assert!(refusal(conn, "userName eq true").contains("string"));
        assert!(refusal(conn, r#"active gt "x""#).contains("active"));
        assert!(refusal(conn, r#"meta.created gt "yesterday""#).contains("RFC 3339"));
    });
}

#[test]
fn pages_are_stable_and_sorted_in_the_database() {
    on_each_backend(|store| {
        let conn = &mut store.conn().expect("conn");
        seed(conn);
        let sort = Sort {
            by: AttrPath::with_name("userName"),
            descending: true,
        };
        let page =
            search_users(conn, None, Some(&sort), &Window { skip: 1, limit: 1 }).expect("page");
        assert_eq!(page.total, 3);
        assert_eq!(page.items[0].username.as_str(), "bob");
        let bad = Sort {
            by: AttrPath::with_name("emails"),
            descending: false,
        };
        assert!(search_users(conn, None, Some(&bad), &Window { skip: 0, limit: 1 }).is_ok());
        let bad = Sort {
            by: AttrPath::with_name("phoneNumbers"),
            descending: false,
        };
        assert!(matches!(
            search_users(conn, None, Some(&bad), &Window { skip: 0, limit: 1 }),
            Err(QueryError::InvalidSort(_))
        ));
    });
}

#[test]
fn a_whole_page_keeps_the_requested_order() {
    on_each_backend(|store| {
        let conn = &mut store.conn().expect("conn");
        let users = seed(conn);
        let usernames = |page: Page<User>| -> Vec<String> {
            page.items
                .iter()
                .map(|user| user.username.as_str().to_owned())
                .collect()
        };
        let descending = Sort {
            by: AttrPath::with_name("userName"),
            descending: true,
        };
        let page = search_users(conn, None, Some(&descending), &Window { skip: 0, limit: 3 })
            .expect("page");
        assert_eq!(usernames(page), ["carol", "bob", "Alice.Smith"]);
        let filter: Filter = r#"userName ne "bob""#.parse().expect("filter parses");
        let page = search_users(
            conn,
            Some(&filter),
            Some(&descending),
            &Window { skip: 1, limit: 5 },
        )
        .expect("page");
        assert_eq!(page.total, 2);
        assert_eq!(usernames(page), ["Alice.Smith"]);
        // Without sortBy the order is the ids', so that pages never overlap.
        let mut by_id: Vec<&User> = users.iter().collect();
        by_id.sort_by_key(|user| user.id.to_string());
        let page = search_users(conn, None, None, &Window { skip: 0, limit: 3 }).expect("page");
        let expected: Vec<String> = by_id
            .iter()
            .map(|user| user.username.as_str().to_owned())
            .collect();
        assert_eq!(usernames(page), expected);
        let page = search_users(conn, None, None, &Window { skip: 3, limit: 3 }).expect("page");
        assert_eq!(page.total, 3);
        assert!(page.items.is_empty());
    });
}
