//! Scheduling use cases against a real database, on each backend.

use chrono::{DateTime, Duration, Utc};

use super::{create_schedules, delete_schedule, list_schedules, next_events};
use crate::domain::schedule::{ScheduleError, ScheduleRequest};
use crate::domain::{CreationMethod, LifecycleState, ScheduleId, User, UserId};
use crate::service::ServiceError;
use crate::service::users::{Actor, NewUser, create_user};
use crate::store::schedules::ScheduleCondition;
use crate::store::testing::{on_each_backend, sample_user};
use crate::store::{DbConnection, audit, schedules, users};

fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2030-06-01T08:00:00Z")
        .expect("time")
        .with_timezone(&Utc)
}

fn create(conn: &mut DbConnection, username: &str, samba: bool) -> User {
    let mut user = sample_user(username);
    user.samba_service_user = samba;
    let new = NewUser {
        user,
        requested_state: Some(LifecycleState::Activated),
        method: CreationMethod::AdminApi,
    };
    create_user(conn, new, &Actor::admin("tests"), t0()).expect("create user")
}

fn request(users: &[UserId], target: LifecycleState, start_date: &str) -> ScheduleRequest {
    ScheduleRequest {
        user_ids: users.to_vec(),
        target,
        start_date: start_date.to_owned(),
        send_activation_emails: None,
        activation_email_override: None,
    }
}

fn counts(conn: &mut DbConnection) -> (i64, i64) {
    (
        schedules::count(conn).expect("schedules"),
        audit::count(conn).expect("events"),
    )
}

fn event_types(conn: &mut DbConnection, user: UserId) -> Vec<String> {
    audit::for_resource(conn, &user.to_string())
        .expect("events")
        .into_iter()
        .map(|e| e.event_type)
        .collect()
}

#[test]
fn a_schedule_is_stored_with_its_effective_time_and_audited_per_user() {
    on_each_backend(|store| {
        let mut conn = store.conn().expect("conn");
        let (ann, bob) = (
            create(&mut conn, "ann", false),
            create(&mut conn, "bob", false),
        );
        let created = create_schedules(
            &mut conn,
            request(
                &[ann.id, bob.id],
                LifecycleState::Suspended,
                "2030-06-01T11:35:00+01:00",
            ),
            &Actor::admin("ops"),
            t0(),
        )
        .expect("created");
        assert_eq!(created.len(), 2);
        for schedule in &created {
            assert_eq!(schedule.run_at.to_rfc3339(), "2030-06-01T10:40:00+00:00");
            assert_eq!(
                schedule.requested_at.to_rfc3339(),
                "2030-06-01T10:35:00+00:00"
            );
            assert_eq!(schedule.created_by, "admin:ops");
            assert_eq!(
                schedules::find(&mut conn, schedule.id)
                    .expect("find")
                    .as_ref(),
                Some(schedule)
            );
        }
        assert!(event_types(&mut conn, ann.id).contains(&"user_suspension_schedule_create".into()));
        assert!(event_types(&mut conn, bob.id).contains(&"user_suspension_schedule_create".into()));

        let activation = create_schedules(
            &mut conn,
            request(&[ann.id], LifecycleState::Activated, "2030-06-02T09:07:00Z"),
            &Actor::admin("ops"),
            t0(),
        )
        .expect("created");
        assert!(activation[0].send_activation_email);
        assert!(event_types(&mut conn, ann.id).contains(&"user_activation_schedule_create".into()));
    });
}

#[test]
fn a_request_with_any_invalid_part_schedules_nothing() {
    on_each_backend(|store| {
        let mut conn = store.conn().expect("conn");
        let ann = create(&mut conn, "ann", false);
        let samba = create(&mut conn, "samba", true);
        let ghost = UserId::generate();
        let before = counts(&mut conn);

        let error = create_schedules(
            &mut conn,
            request(
                &[ann.id, ghost],
                LifecycleState::Suspended,
                "2030-06-01T12:00:00Z",
            ),
            &Actor::admin("ops"),
            t0(),
        )
        .expect_err("unknown user");
        assert!(
            matches!(error, ServiceError::Schedule(ScheduleError::UnknownUser(id)) if id == ghost)
        );
        assert_eq!(counts(&mut conn), before);

        let error = create_schedules(
            &mut conn,
            request(
                &[ann.id, samba.id],
                LifecycleState::Suspended,
                "2030-06-01T12:00:00Z",
            ),
            &Actor::admin("ops"),
            t0(),
        )
        .expect_err("samba");
        assert!(error.to_string().contains("Samba"), "{error}");
        assert_eq!(counts(&mut conn), before);

        let error = create_schedules(
            &mut conn,
            request(&[ann.id], LifecycleState::Suspended, "2030-06-01T08:30:00Z"),
            &Actor::admin("ops"),
            t0(),
        )
        .expect_err("too soon");
        assert!(matches!(
            error,
            ServiceError::Schedule(ScheduleError::TooSoon { .. })
        ));
        assert_eq!(counts(&mut conn), before);

        // The Samba account may still be activated on a schedule.
        create_schedules(
            &mut conn,
            request(
                &[samba.id],
                LifecycleState::Activated,
                "2030-06-01T12:00:00Z",
            ),
            &Actor::admin("ops"),
            t0(),
        )
        .expect("activation of the samba account");
    });
}

#[test]
fn lists_filter_by_user_and_page_soonest_first() {
    on_each_backend(|store| {
        let mut conn = store.conn().expect("conn");
        let (ann, bob) = (
            create(&mut conn, "ann", false),
            create(&mut conn, "bob", false),
        );
        for hours in [5, 2, 9] {
            let at = (t0() + Duration::hours(hours)).to_rfc3339();
            create_schedules(
                &mut conn,
                request(&[ann.id], LifecycleState::Suspended, &at),
                &Actor::admin("ops"),
                t0(),
            )
            .expect("ann");
        }
        create_schedules(
            &mut conn,
            request(&[bob.id], LifecycleState::Suspended, "2030-06-01T10:00:00Z"),
            &Actor::admin("ops"),
            t0(),
        )
        .expect("bob");

        let anns = list_schedules(&mut conn, &[ScheduleCondition::UserIn(vec![ann.id])], 0, 10)
            .expect("list");
        let hours: Vec<i64> = anns.iter().map(|s| (s.run_at - t0()).num_hours()).collect();
        assert_eq!(hours, [2, 5, 9]);
        assert!(anns.iter().all(|s| s.user_id == ann.id));
        let page = list_schedules(&mut conn, &[ScheduleCondition::UserIn(vec![ann.id])], 1, 1)
            .expect("page");
        assert_eq!(page, vec![anns[1].clone()]);
        assert_eq!(list_schedules(&mut conn, &[], 0, 10).expect("all").len(), 4);
    });
}

#[test]
fn deleting_a_schedule_leaves_the_user_as_it_is_and_is_audited() {
    on_each_backend(|store| {
        let mut conn = store.conn().expect("conn");
        let ann = create(&mut conn, "ann", false);
        let created = create_schedules(
            &mut conn,
            request(&[ann.id], LifecycleState::Suspended, "2030-06-01T12:00:00Z"),
            &Actor::admin("ops"),
            t0(),
        )
        .expect("created");
        let id = created[0].id;
        delete_schedule(&mut conn, id, &Actor::admin("ops"), t0()).expect("deleted");
        assert_eq!(schedules::count(&mut conn).expect("count"), 0);
        let user = users::find(&mut conn, ann.id).expect("find").expect("user");
        assert_eq!((user.state, user.version), (ann.state, ann.version));
        assert!(event_types(&mut conn, ann.id).contains(&"user_suspension_schedule_delete".into()));

        let before = counts(&mut conn);
        let again = delete_schedule(&mut conn, id, &Actor::admin("ops"), t0()).expect_err("gone");
        assert!(matches!(again, ServiceError::ScheduleNotFound(gone) if gone == id));
        let unknown = delete_schedule(
            &mut conn,
            ScheduleId::generate(),
            &Actor::admin("ops"),
            t0(),
        );
        assert!(matches!(unknown, Err(ServiceError::ScheduleNotFound(_))));
        assert_eq!(counts(&mut conn), before);
    });
}

#[test]
fn next_events_give_one_of_each_kind_per_user() {
    on_each_backend(|store| {
        let mut conn = store.conn().expect("conn");
        let (ann, bob) = (
            create(&mut conn, "ann", false),
            create(&mut conn, "bob", false),
        );
        for (user, target, at) in [
            (&ann, LifecycleState::Suspended, "2030-06-03T10:00:00Z"),
            (&ann, LifecycleState::Suspended, "2030-06-02T10:00:00Z"),
            (&ann, LifecycleState::Activated, "2030-06-04T10:00:00Z"),
            (&bob, LifecycleState::Suspended, "2030-06-05T10:00:00Z"),
        ] {
            create_schedules(
                &mut conn,
                request(&[user.id], target, at),
                &Actor::admin("ops"),
                t0(),
            )
            .expect("schedule");
        }
        let next = next_events(&mut conn, &[ann.id]).expect("next");
        let summary: Vec<(LifecycleState, String)> = next
            .iter()
            .map(|s| (s.target, s.run_at.to_rfc3339()))
            .collect();
        assert_eq!(
            summary,
            vec![
                (
                    LifecycleState::Suspended,
                    "2030-06-02T10:00:00+00:00".to_owned()
                ),
                (
                    LifecycleState::Activated,
                    "2030-06-04T10:00:00+00:00".to_owned()
                ),
            ]
        );
        assert_eq!(
            next_events(&mut conn, &[ann.id, bob.id])
                .expect("next")
                .len(),
            3
        );
    });
}
