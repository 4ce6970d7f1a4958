//! The scheduler step with chosen times, on each backend.

use chrono::{DateTime, Duration, Utc};

use super::{BATCH_SIZE, Outcome, run_due};
use crate::domain::audit::AuditEvent;
use crate::domain::lifecycle::Trigger;
use crate::domain::schedule::{Schedule, ScheduleRequest};
use crate::domain::{CreationMethod, LifecycleState, ScheduleId, StateSource, User, UserId};
use crate::service::schedules::create_schedules;
use crate::service::users::{
    Actor, ManagerCascade, NewUser, change_state, create_user, delete_user,
};
use crate::store::testing::{on_each_backend, sample_user};
use crate::store::{DbConnection, Store, audit, schedules, users, write_transaction};

/// A fixed "now" on a 10-minute boundary, so run times are easy to read.
fn t0() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2030-06-01T08:00:00Z")
        .expect("time")
        .with_timezone(&Utc)
}

fn create(conn: &mut DbConnection, username: &str, state: LifecycleState) -> User {
    let new = NewUser {
        user: sample_user(username),
        requested_state: Some(state),
        method: CreationMethod::AdminApi,
    };
    create_user(conn, new, &Actor::admin("tests"), t0()).expect("create user")
}

fn schedule(
    conn: &mut DbConnection,
    user: &User,
    target: LifecycleState,
    at: DateTime<Utc>,
) -> Schedule {
    let request = ScheduleRequest {
        user_ids: vec![user.id],
        target,
        start_date: at.to_rfc3339(),
        send_activation_emails: None,
        activation_email_override: None,
    };
    create_schedules(conn, request, &Actor::admin("tests"), t0())
        .expect("schedule")
        .remove(0)
}

/// A schedule written straight to the store, bypassing the creation rules, as a test of what
/// the scheduler does with rows it did not expect.
fn raw_schedule(conn: &mut DbConnection, user_id: UserId, target: LifecycleState) -> Schedule {
    let schedule = Schedule {
        id: ScheduleId::generate(),
        user_id,
        target,
        requested_at: t0(),
        run_at: t0(),
        send_activation_email: false,
        activation_email_override: None,
        created_by: "admin:tests".into(),
        created_at: t0(),
    };
    schedules::insert(conn, std::slice::from_ref(&schedule)).expect("insert schedule");
    schedule
}

fn events_of(conn: &mut DbConnection, user: UserId, event_type: &str) -> Vec<AuditEvent> {
    audit::for_resource(conn, &user.to_string())
        .expect("events")
        .into_iter()
        .filter(|e| e.event_type == event_type)
        .collect()
}

fn state_of(conn: &mut DbConnection, user: UserId) -> LifecycleState {
    users::find(conn, user).expect("find").expect("user").state
}

fn run(store: &Store, at: DateTime<Utc>) -> Outcome {
    run_due(&mut store.conn().expect("conn"), at).expect("scheduler step")
}

#[test]
fn a_suspension_fires_at_its_boundary_and_not_a_moment_before() {
    on_each_backend(|store| {
        let mut conn = store.conn().expect("conn");
        let ann = create(&mut conn, "ann", LifecycleState::Activated);
        // Asked for 09:05, so it runs at 09:10.
        let pending = schedule(
            &mut conn,
            &ann,
            LifecycleState::Suspended,
            t0() + Duration::minutes(65),
        );
        assert_eq!(pending.run_at, t0() + Duration::minutes(70));

        let early = run(store, pending.run_at - Duration::milliseconds(1));
        assert_eq!(early, Outcome::default());
        assert_eq!(state_of(&mut conn, ann.id), LifecycleState::Activated);

        let due = run(store, pending.run_at);
        assert_eq!(due.changed, 1, "{due:?}");
        let after = users::find(&mut conn, ann.id).expect("find").expect("user");
        assert_eq!(after.state, LifecycleState::Suspended);
        assert_eq!(after.state_source, StateSource::Scheduler);
        assert_eq!(after.state_changed_at, pending.run_at);
        let suspended = events_of(&mut conn, ann.id, "user_suspended");
        assert_eq!(suspended.len(), 1);
        assert_eq!(suspended[0].initiated_by.kind.as_str(), "scheduler");
        assert_eq!(schedules::count(&mut conn).expect("count"), 0);

        assert_eq!(run(store, pending.run_at + Duration::hours(1)).fired(), 0);
        assert_eq!(events_of(&mut conn, ann.id, "user_suspended").len(), 1);
    });
}

#[test]
fn a_manual_suspension_does_not_cancel_a_pending_one_which_is_recorded_again() {
    on_each_backend(|store| {
        let mut conn = store.conn().expect("conn");
        let bob = create(&mut conn, "bob", LifecycleState::Activated);
        let pending = schedule(
            &mut conn,
            &bob,
            LifecycleState::Suspended,
            t0() + Duration::hours(2),
        );
        change_state(
            &mut conn,
            bob.id,
            LifecycleState::Suspended,
            Trigger::Request,
            &Actor::admin("tests"),
            t0() + Duration::minutes(5),
        )
        .expect("manual suspension");
        assert_eq!(
            schedules::count(&mut conn).expect("count"),
            1,
            "still pending"
        );

        let outcome = run(store, pending.run_at);
        assert_eq!(outcome.repeated_suspensions, 1, "{outcome:?}");
        let suspended = events_of(&mut conn, bob.id, "user_suspended");
        assert_eq!(
            suspended.len(),
            2,
            "the reports show the user suspended twice"
        );
        assert_eq!(suspended[1].initiated_by.kind.as_str(), "scheduler");
        let user = users::find(&mut conn, bob.id).expect("find").expect("user");
        assert_eq!(user.state, LifecycleState::Suspended);
        assert_eq!(
            user.state_source,
            StateSource::Admin,
            "nothing else changed"
        );
        assert_eq!(schedules::count(&mut conn).expect("count"), 0);
    });
}

#[test]
fn an_activation_of_a_staged_user_activates_and_of_an_active_user_is_recorded_as_skipped() {
    on_each_backend(|store| {
        let mut conn = store.conn().expect("conn");
        let new_hire = create(&mut conn, "newhire", LifecycleState::Staged);
        let active = create(&mut conn, "active", LifecycleState::Activated);
        let at = t0() + Duration::hours(3);
        schedule(&mut conn, &new_hire, LifecycleState::Activated, at);
        schedule(&mut conn, &active, LifecycleState::Activated, at);

        let outcome = run(store, at);
        assert_eq!((outcome.changed, outcome.skipped_activations), (1, 1));
        assert_eq!(state_of(&mut conn, new_hire.id), LifecycleState::Activated);
        assert_eq!(events_of(&mut conn, new_hire.id, "user_activated").len(), 1);
        let skipped = events_of(&mut conn, active.id, "user_activated");
        assert_eq!(skipped.len(), 1);
        assert!(
            skipped[0].details.contains("skipped"),
            "{}",
            skipped[0].details
        );
        let active_now = users::find(&mut conn, active.id)
            .expect("find")
            .expect("user");
        assert_eq!(
            active_now.version, active.version,
            "the active user is untouched"
        );
    });
}

#[test]
fn a_samba_accounts_suspension_is_refused_recorded_and_removed() {
    on_each_backend(|store| {
        let mut conn = store.conn().expect("conn");
        let mut samba = sample_user("samba");
        samba.samba_service_user = true;
        let new = NewUser {
            user: samba,
            requested_state: Some(LifecycleState::Activated),
            method: CreationMethod::AdminApi,
        };
        let samba = create_user(&mut conn, new, &Actor::admin("tests"), t0()).expect("create");
        // The API refuses such a schedule; this one predates the flag, as if set later.
        let pending = raw_schedule(&mut conn, samba.id, LifecycleState::Suspended);

        let outcome = run(store, t0());
        assert_eq!(outcome.refused, 1, "{outcome:?}");
        assert_eq!(state_of(&mut conn, samba.id), LifecycleState::Activated);
        assert!(events_of(&mut conn, samba.id, "user_suspended").is_empty());
        let refused = events_of(&mut conn, samba.id, "user_state_change_refused");
        assert_eq!(refused.len(), 1);
        assert!(
            refused[0].details.contains("Samba"),
            "{}",
            refused[0].details
        );
        assert!(
            refused[0].details.contains(&pending.id.to_string()),
            "{}",
            refused[0].details
        );
        assert_eq!(schedules::count(&mut conn).expect("count"), 0);
    });
}

#[test]
fn a_schedule_of_a_user_that_is_gone_is_dropped_harmlessly() {
    on_each_backend(|store| {
        let mut conn = store.conn().expect("conn");
        let ghost = UserId::generate();
        raw_schedule(&mut conn, ghost, LifecycleState::Suspended);
        let events_before = audit::count(&mut conn).expect("count");
        let outcome = run(store, t0());
        assert_eq!(outcome.orphaned, 1, "{outcome:?}");
        assert_eq!(schedules::count(&mut conn).expect("count"), 0);
        assert_eq!(audit::count(&mut conn).expect("count"), events_before);
    });
}

#[test]
fn deleting_a_user_deletes_its_schedules_so_they_never_fire() {
    on_each_backend(|store| {
        let mut conn = store.conn().expect("conn");
        let leaver = create(&mut conn, "leaver", LifecycleState::Activated);
        let stayer = create(&mut conn, "stayer", LifecycleState::Activated);
        let at = t0() + Duration::hours(2);
        schedule(&mut conn, &leaver, LifecycleState::Suspended, at);
        schedule(&mut conn, &stayer, LifecycleState::Suspended, at);
        delete_user(
            &mut conn,
            leaver.id,
            ManagerCascade::Clear,
            &Actor::admin("tests"),
            t0(),
        )
        .expect("delete");
        assert_eq!(
            events_of(&mut conn, leaver.id, "user_suspension_schedule_delete").len(),
            1
        );
        let outcome = run(store, at);
        assert_eq!((outcome.changed, outcome.orphaned), (1, 0), "{outcome:?}");
        assert!(events_of(&mut conn, leaver.id, "user_suspended").is_empty());
    });
}

#[test]
fn after_downtime_everything_due_fires_in_order_across_batches() {
    on_each_backend(|store| {
        let mut conn = store.conn().expect("conn");
        // One user suspended and later reactivated while no scheduler ran.
        let carol = create(&mut conn, "carol", LifecycleState::Activated);
        schedule(
            &mut conn,
            &carol,
            LifecycleState::Activated,
            t0() + Duration::hours(5),
        );
        schedule(
            &mut conn,
            &carol,
            LifecycleState::Suspended,
            t0() + Duration::hours(2),
        );
        // And more due suspensions than one batch holds.
        let count = BATCH_SIZE as usize + 7;
        let many: Vec<User> = write_transaction(&mut conn, |conn| {
            Ok::<_, crate::service::ServiceError>(
                (0..count)
                    .map(|i| create(conn, &format!("bulk{i}"), LifecycleState::Activated))
                    .collect(),
            )
        })
        .expect("users");
        let request = ScheduleRequest {
            user_ids: many.iter().map(|u| u.id).collect(),
            target: LifecycleState::Suspended,
            start_date: (t0() + Duration::hours(3)).to_rfc3339(),
            send_activation_emails: None,
            activation_email_override: None,
        };
        create_schedules(&mut conn, request, &Actor::admin("tests"), t0()).expect("schedule");

        let outcome = run(store, t0() + Duration::days(2));
        assert_eq!(outcome.changed, count + 2, "{outcome:?}");
        assert_eq!(schedules::count(&mut conn).expect("count"), 0);
        assert_eq!(state_of(&mut conn, carol.id), LifecycleState::Activated);
        let history: Vec<String> = audit::for_resource(&mut conn, &carol.id.to_string())
            .expect("events")
            .into_iter()
            .map(|e| e.event_type)
            .filter(|t| t == "user_suspended" || t == "user_unsuspended")
            .collect();
        assert_eq!(history, ["user_suspended", "user_unsuspended"]);
        for user in &many {
            assert_eq!(state_of(&mut conn, user.id), LifecycleState::Suspended);
        }
        assert!(matches!(
            audit::verify(&mut conn).expect("verify"),
            audit::Verification::Intact { .. }
        ));
    });
}

#[test]
fn a_scheduled_activation_with_emails_queues_the_activation_email_to_the_override() {
    on_each_backend(|store| {
        let mut conn = store.conn().expect("conn");
        let quiet = create(&mut conn, "quiet", LifecycleState::Staged);
        let mailed = create(&mut conn, "mailed", LifecycleState::Staged);
        let at = t0() + Duration::hours(2);
        let silent = ScheduleRequest {
            user_ids: vec![quiet.id],
            target: LifecycleState::Activated,
            start_date: at.to_rfc3339(),
            send_activation_emails: Some(false),
            activation_email_override: None,
        };
        create_schedules(&mut conn, silent, &Actor::admin("tests"), t0()).expect("schedule");
        let request = ScheduleRequest {
            user_ids: vec![mailed.id],
            target: LifecycleState::Activated,
            start_date: at.to_rfc3339(),
            send_activation_emails: Some(true),
            activation_email_override: Some("Personal@Example.org".into()),
        };
        create_schedules(&mut conn, request, &Actor::admin("tests"), t0()).expect("schedule");

        run(store, at);
        let queued = crate::store::email_outbox::for_user(&mut conn, &mailed.id.to_string())
            .expect("outbox");
        assert_eq!(queued.len(), 1);
        assert_eq!(queued[0].recipient, "personal@example.org");
        assert_eq!(
            queued[0].kind, "activation",
            "no password yet: set-password link"
        );
        assert_eq!(
            events_of(&mut conn, mailed.id, "user_activation_email").len(),
            1
        );
        let none =
            crate::store::email_outbox::for_user(&mut conn, &quiet.id.to_string()).expect("outbox");
        assert!(
            none.is_empty(),
            "no email unless the schedule asked for one"
        );
    });
}
