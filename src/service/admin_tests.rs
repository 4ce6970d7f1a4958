//! The admin API's use cases against a real database, on each backend.

use chrono::Utc;

use super::ServiceError;
use super::activation::activate;
use super::admin_users::delete_many;
use super::email::queue_activation_email;
use super::users::{Actor, NewUser, create_user};
use crate::domain::activation_email::{EmailDecision, EmailRequest};
use crate::domain::{CreationMethod, LifecycleState, User};
use crate::store::testing::{on_each_backend, sample_user};
use crate::store::{DbConnection, Store, audit, email_outbox, users};

fn create(store: &Store, username: &str, state: LifecycleState) -> User {
    let mut conn = store.conn().expect("conn");
    let new = NewUser {
        user: sample_user(username),
        requested_state: Some(state),
        method: CreationMethod::AdminApi,
    };
    create_user(&mut conn, new, &Actor::admin("tests"), Utc::now()).expect("create")
}

fn counts(conn: &mut DbConnection) -> (i64, i64) {
    (
        audit::count(conn).expect("audit"),
        email_outbox::count(conn).expect("outbox"),
    )
}

#[test]
fn a_staged_user_gets_no_mail_and_the_suppression_is_audited() {
    on_each_backend(|store| {
        let staged = create(store, "stan", LifecycleState::Staged);
        let mut conn = store.conn().expect("conn");
        let decision = queue_activation_email(
            &mut conn,
            &staged,
            &EmailRequest::Default,
            &Actor::scheduler(),
            Utc::now(),
        )
        .expect("not an error");
        assert_eq!(decision, EmailDecision::SuppressedStaged);
        assert_eq!(email_outbox::count(&mut conn).expect("count"), 0);
        let events = audit::for_resource(&mut conn, &staged.id.to_string()).expect("events");
        let last = events.last().expect("an event");
        assert_eq!(last.event_type, "user_activation_email");
        assert!(last.details.contains("suppressed"), "{}", last.details);
    });
}

#[test]
fn activating_queues_one_email_in_the_same_transaction() {
    on_each_backend(|store| {
        let staged = create(store, "olga", LifecycleState::Staged);
        let mut conn = store.conn().expect("conn");
        let actor = Actor::admin("tests");
        let activation = activate(
            &mut conn,
            staged.id,
            &EmailRequest::Default,
            &actor,
            Utc::now(),
        )
        .expect("activate");
        assert_eq!(activation.change.user.state, LifecycleState::Activated);
        let queued = email_outbox::for_user(&mut conn, &staged.id.to_string()).expect("outbox");
        assert_eq!(queued.len(), 1);
        assert_eq!(queued[0].kind, "activation");
        assert!(queued[0].link_token.is_some());
        assert!(
            !format!("{:?}", queued[0]).contains(queued[0].link_token.as_deref().unwrap_or("-"))
        );

        let before = counts(&mut conn);
        let again = activate(
            &mut conn,
            staged.id,
            &EmailRequest::Default,
            &actor,
            Utc::now(),
        )
        .expect("no-op");
        assert_eq!(again.email, None);
        assert_eq!(counts(&mut conn), before, "an active user gets nothing");
    });
}

#[test]
fn bulk_delete_deletes_all_or_nothing() {
    on_each_backend(|store| {
        let a = create(store, "a1", LifecycleState::Activated);
        let b = create(store, "b1", LifecycleState::Suspended);
        let mut conn = store.conn().expect("conn");
        let actor = Actor::admin("tests");
        let before = counts(&mut conn);
        let missing = crate::domain::UserId::generate();
        for (ids, expected) in [
            (vec![a.id, b.id], 1),
            (vec![a.id, missing], 2),
            (vec![a.id, a.id], 2),
        ] {
            let error =
                delete_many(&mut conn, &ids, expected, &actor, Utc::now()).expect_err("refused");
            assert!(matches!(error, ServiceError::InvalidField(_)), "{error:?}");
            assert_eq!(counts(&mut conn), before);
            assert!(users::find(&mut conn, a.id).expect("find").is_some());
        }
        let deleted = delete_many(&mut conn, &[a.id, b.id], 2, &actor, Utc::now()).expect("delete");
        assert_eq!(deleted.len(), 2);
        assert!(users::find(&mut conn, b.id).expect("find").is_none());
    });
}
