//! Use cases against a real database, on each backend.

use chrono::Utc;

use super::ServiceError;
use super::users::{
    Actor, ManagerCascade, NewUser, change_state, change_states, create_user, delete_user,
};
use crate::domain::lifecycle::{LifecycleError, Transition, Trigger};
use crate::domain::{
    CreationMethod, DefaultState, LifecycleState, StateDefaults, StateSource, User,
};
use crate::store::testing::{on_each_backend, sample_user};
use crate::store::{DbConnection, Store, audit, settings, users};

fn create(store: &Store, username: &str, state: LifecycleState) -> User {
    let mut conn = store.conn().expect("conn");
    let new = NewUser {
        user: sample_user(username),
        requested_state: Some(state),
        method: CreationMethod::AdminApi,
    };
    create_user(&mut conn, new, &Actor::admin("tests"), Utc::now()).expect("create")
}

fn snapshot(conn: &mut DbConnection, user: &User) -> (Option<User>, i64) {
    (
        users::find(conn, user.id).expect("find"),
        audit::count(conn).expect("count"),
    )
}

#[test]
fn an_invalid_transition_is_refused_by_name_and_changes_nothing() {
    on_each_backend(|store| {
        let user = create(store, "sam", LifecycleState::Suspended);
        let mut conn = store.conn().expect("conn");
        let before = snapshot(&mut conn, &user);
        let error = change_state(
            &mut conn,
            user.id,
            LifecycleState::Staged,
            Trigger::Request,
            &Actor::admin("tests"),
            Utc::now(),
        )
        .expect_err("SUSPENDED -> STAGED is not allowed");
        assert!(
            matches!(
                error,
                ServiceError::Lifecycle(LifecycleError::InvalidTransition {
                    from: LifecycleState::Suspended,
                    to: LifecycleState::Staged,
                    ..
                })
            ),
            "{error:?}"
        );
        assert!(error.to_string().contains("SUSPENDED"));
        assert_eq!(snapshot(&mut conn, &user), before, "database unchanged");
    });
}

#[test]
fn the_samba_service_account_is_not_suspended_and_nothing_changes() {
    on_each_backend(|store| {
        let mut conn = store.conn().expect("conn");
        let mut samba = sample_user("samba");
        samba.samba_service_user = true;
        let new = NewUser {
            user: samba,
            requested_state: Some(LifecycleState::Activated),
            method: CreationMethod::AdminApi,
        };
        let user = create_user(&mut conn, new, &Actor::admin("tests"), Utc::now()).expect("create");
        let before = snapshot(&mut conn, &user);
        for trigger in [Trigger::Request, Trigger::Schedule] {
            let error = change_state(
                &mut conn,
                user.id,
                LifecycleState::Suspended,
                trigger,
                &Actor::admin("tests"),
                Utc::now(),
            )
            .expect_err("never suspended");
            assert!(matches!(
                error,
                ServiceError::Lifecycle(LifecycleError::SambaServiceAccount)
            ));
        }
        assert_eq!(snapshot(&mut conn, &user), before);
    });
}

#[test]
fn a_state_change_is_stored_with_its_source_and_audited() {
    on_each_backend(|store| {
        let user = create(store, "tina", LifecycleState::Staged);
        let mut conn = store.conn().expect("conn");
        let now = Utc::now();
        let outcome = change_state(
            &mut conn,
            user.id,
            LifecycleState::Activated,
            Trigger::Schedule,
            &Actor::scheduler(),
            now,
        )
        .expect("activate");
        assert_eq!(
            outcome.transition,
            Transition::Change {
                from: LifecycleState::Staged,
                to: LifecycleState::Activated
            }
        );
        let stored = users::find(&mut conn, user.id)
            .expect("find")
            .expect("exists");
        assert_eq!(stored.state, LifecycleState::Activated);
        assert_eq!(stored.state_source, StateSource::Scheduler);
        assert_eq!(stored.version, user.version + 1);
        let events = audit::for_resource(&mut conn, &user.id.to_string()).expect("events");
        let types: Vec<_> = events.iter().map(|e| e.event_type.as_str()).collect();
        assert_eq!(types, ["user_create", "user_activated"]);
        assert!(
            events[1].details.contains("\"from\":\"STAGED\""),
            "{}",
            events[1].details
        );
    });
}

#[test]
fn reactivating_a_suspended_user_is_recorded_as_unsuspended() {
    on_each_backend(|store| {
        let user = create(store, "uma", LifecycleState::Suspended);
        let mut conn = store.conn().expect("conn");
        change_state(
            &mut conn,
            user.id,
            LifecycleState::Activated,
            Trigger::Request,
            &Actor::admin("tests"),
            Utc::now(),
        )
        .expect("reactivate");
        let events = audit::for_resource(&mut conn, &user.id.to_string()).expect("events");
        assert_eq!(
            events.last().map(|e| e.event_type.as_str()),
            Some("user_unsuspended")
        );
    });
}

#[test]
fn asking_for_the_current_state_records_nothing() {
    on_each_backend(|store| {
        let user = create(store, "vic", LifecycleState::Activated);
        let mut conn = store.conn().expect("conn");
        let before = snapshot(&mut conn, &user);
        let outcome = change_state(
            &mut conn,
            user.id,
            LifecycleState::Activated,
            Trigger::Request,
            &Actor::admin("tests"),
            Utc::now(),
        )
        .expect("no-op");
        assert_eq!(outcome.transition, Transition::Unchanged);
        assert_eq!(snapshot(&mut conn, &user), before);
    });
}

#[test]
fn a_scheduled_suspension_of_a_suspended_user_is_recorded_twice() {
    on_each_backend(|store| {
        let user = create(store, "walt", LifecycleState::Activated);
        let mut conn = store.conn().expect("conn");
        let suspend = |conn: &mut DbConnection, trigger, actor: &Actor| {
            change_state(
                conn,
                user.id,
                LifecycleState::Suspended,
                trigger,
                actor,
                Utc::now(),
            )
            .expect("suspend")
        };
        suspend(&mut conn, Trigger::Request, &Actor::admin("tests"));
        let row_after_manual = users::find(&mut conn, user.id).expect("find");
        let outcome = suspend(&mut conn, Trigger::Schedule, &Actor::scheduler());
        assert_eq!(outcome.transition, Transition::RepeatedSuspension);
        assert_eq!(
            users::find(&mut conn, user.id).expect("find"),
            row_after_manual
        );
        let events = audit::for_resource(&mut conn, &user.id.to_string()).expect("events");
        let suspensions = events
            .iter()
            .filter(|e| e.event_type == "user_suspended")
            .count();
        assert_eq!(suspensions, 2);
    });
}

#[test]
fn new_users_take_the_default_for_their_creation_method_unless_a_state_is_given() {
    on_each_backend(|store| {
        let mut conn = store.conn().expect("conn");
        let staged_manual = StateDefaults {
            manual_entry: DefaultState::Staged,
            ..StateDefaults::default()
        };
        settings::set_state_defaults(&mut conn, &staged_manual, Utc::now()).expect("settings");
        let make = |conn: &mut DbConnection, name: &str, method, state| {
            let new = NewUser {
                user: sample_user(name),
                requested_state: state,
                method,
            };
            create_user(conn, new, &Actor::admin("tests"), Utc::now())
                .expect("create")
                .state
        };
        assert_eq!(
            make(&mut conn, "x1", CreationMethod::AdminApi, None),
            LifecycleState::Staged
        );
        assert_eq!(
            make(&mut conn, "x2", CreationMethod::Scim, None),
            LifecycleState::Staged
        );
        assert_eq!(
            make(&mut conn, "x3", CreationMethod::CsvImport, None),
            LifecycleState::Activated
        );
        assert_eq!(
            make(
                &mut conn,
                "x4",
                CreationMethod::AdminApi,
                Some(LifecycleState::Activated)
            ),
            LifecycleState::Activated
        );
    });
}

#[test]
fn deleting_a_manager_clears_or_repoints_reports_and_keeps_no_state() {
    on_each_backend(|store| {
        let boss = create(store, "boss", LifecycleState::Activated);
        let other = create(store, "other", LifecycleState::Activated);
        let mut conn = store.conn().expect("conn");
        let mut report = sample_user("report");
        report.manager = Some(boss.id);
        let new = NewUser {
            user: report,
            requested_state: None,
            method: CreationMethod::AdminApi,
        };
        let report =
            create_user(&mut conn, new, &Actor::admin("tests"), Utc::now()).expect("create");

        let actor = Actor::admin("tests");
        delete_user(
            &mut conn,
            boss.id,
            ManagerCascade::Repoint(other.id),
            &actor,
            Utc::now(),
        )
        .expect("delete boss");
        let stored = users::find(&mut conn, report.id)
            .expect("find")
            .expect("exists");
        assert_eq!(stored.manager, Some(other.id));
        assert_eq!(users::find(&mut conn, boss.id).expect("find"), None);

        delete_user(
            &mut conn,
            other.id,
            ManagerCascade::Clear,
            &actor,
            Utc::now(),
        )
        .expect("delete other");
        let stored = users::find(&mut conn, report.id)
            .expect("find")
            .expect("exists");
        assert_eq!(stored.manager, None);

        let events = audit::for_resource(&mut conn, &boss.id.to_string()).expect("events");
        let deletion = events.last().expect("an event");
        assert_eq!(deletion.event_type, "user_delete");
        assert_eq!(deletion.resource.name.as_deref(), Some("boss"));
        assert!(!deletion.details.contains("state"), "{}", deletion.details);
        assert!(matches!(
            audit::verify(&mut conn).expect("verify"),
            audit::Verification::Intact { .. }
        ));
    });
}

#[test]
fn deleting_an_unknown_user_is_not_found() {
    on_each_backend(|store| {
        let mut conn = store.conn().expect("conn");
        let missing = crate::domain::UserId::generate();
        let error = delete_user(
            &mut conn,
            missing,
            ManagerCascade::Clear,
            &Actor::admin("t"),
            Utc::now(),
        )
        .expect_err("unknown");
        assert!(matches!(error, ServiceError::UserNotFound(id) if id == missing));
    });
}

#[test]
fn an_update_records_the_changed_fields_and_a_stale_version_is_refused() {
    on_each_backend(|store| {
        let user = create(store, "yara", LifecycleState::Activated);
        let mut conn = store.conn().expect("conn");
        let actor = Actor::admin("tests");
        let updated = super::users::update_user(
            &mut conn,
            user.id,
            Some(user.version),
            &actor,
            Utc::now(),
            |u| {
                u.department = Some("Finance".into());
                u.state = LifecycleState::Staged; // ignored: state only changes through change_state
                Ok(())
            },
        )
        .expect("update");
        assert_eq!(updated.department.as_deref(), Some("Finance"));
        assert_eq!(updated.state, LifecycleState::Activated);
        assert_eq!(updated.version, user.version + 1);
        let events = audit::for_resource(&mut conn, &user.id.to_string()).expect("events");
        let last = events.last().expect("event");
        assert_eq!(last.event_type, "user_update");
        assert!(
            last.details.contains("\"field\":\"department\""),
            "{}",
            last.details
        );

        let before = snapshot(&mut conn, &user);
        let error = super::users::update_user(
            &mut conn,
            user.id,
            Some(user.version),
            &actor,
            Utc::now(),
            |u| {
                u.department = Some("Sales".into());
                Ok(())
            },
        )
        .expect_err("stale version");
        assert!(matches!(error, ServiceError::Conflict));
        assert_eq!(snapshot(&mut conn, &user), before);
    });
}

#[test]
fn each_new_user_gets_the_next_unix_id_even_when_created_concurrently() {
    on_each_backend(|store| {
        let first = create(store, "first", LifecycleState::Staged);
        assert_eq!(first.unix_uid, Some(users::FIRST_UNIX_ID));
        assert_eq!(first.unix_guid, first.unix_uid);
        let stored = users::find(&mut store.conn().expect("conn"), first.id)
            .expect("find")
            .expect("user");
        assert_eq!(stored.unix_uid, first.unix_uid, "the id is stored");

        let created: Vec<User> = std::thread::scope(|scope| {
            let workers: Vec<_> = (0..4)
                .map(|worker| {
                    scope.spawn(move || {
                        (0..5)
                            .map(|i| {
                                create(store, &format!("w{worker}-{i}"), LifecycleState::Staged)
                            })
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().expect("worker"))
                .collect()
        });
        let mut ids: Vec<i64> = created.iter().filter_map(|u| u.unix_uid).collect();
        ids.sort_unstable();
        let expected: Vec<i64> = (1..=20).map(|n| users::FIRST_UNIX_ID + n).collect();
        assert_eq!(ids, expected, "20 distinct ids, none skipped");
    });
}

#[test]
fn a_batch_of_state_changes_follows_the_rules_of_one_by_one_and_writes_each_row_once() {
    on_each_backend(|store| {
        let ann = create(store, "ann", LifecycleState::Staged);
        let bob = create(store, "bob", LifecycleState::Activated);
        let mut samba = sample_user("samba");
        samba.samba_service_user = true;
        let samba = create_user(
            &mut store.conn().expect("conn"),
            NewUser {
                user: samba,
                requested_state: Some(LifecycleState::Activated),
                method: CreationMethod::AdminApi,
            },
            &Actor::admin("tests"),
            Utc::now(),
        )
        .expect("samba");
        let missing = crate::domain::UserId::generate();
        let mut conn = store.conn().expect("conn");
        let before = audit::count(&mut conn).expect("count");
        let requests = [
            (ann.id, LifecycleState::Activated),
            (ann.id, LifecycleState::Suspended),
            (bob.id, LifecycleState::Staged),
            (samba.id, LifecycleState::Suspended),
            (missing, LifecycleState::Suspended),
            (bob.id, LifecycleState::Activated),
        ];
        let results = change_states(
            &mut conn,
            &requests,
            Trigger::Schedule,
            &Actor::scheduler(),
            Utc::now(),
        )
        .expect("batch");
        let transitions: Vec<_> = results
            .iter()
            .map(|r| r.as_ref().map(|c| c.transition))
            .collect();
        assert!(matches!(
            transitions[0],
            Ok(Transition::Change {
                to: LifecycleState::Activated,
                ..
            })
        ));
        assert!(matches!(
            transitions[1],
            Ok(Transition::Change {
                from: LifecycleState::Activated,
                to: LifecycleState::Suspended
            })
        ));
        assert!(
            matches!(results[2], Err(ServiceError::Lifecycle(_))),
            "{:?}",
            results[2]
        );
        assert!(
            matches!(results[3], Err(ServiceError::Lifecycle(_))),
            "{:?}",
            results[3]
        );
        assert!(matches!(results[4], Err(ServiceError::UserNotFound(id)) if id == missing));
        assert!(matches!(transitions[5], Ok(Transition::SkippedActivation)));

        let stored = users::find(&mut conn, ann.id).expect("find").expect("ann");
        assert_eq!(stored.state, LifecycleState::Suspended);
        assert_eq!(
            stored.version,
            ann.version + 1,
            "two changes, one row write"
        );
        let types: Vec<String> = audit::for_resource(&mut conn, &ann.id.to_string())
            .expect("events")
            .into_iter()
            .map(|e| e.event_type)
            .collect();
        assert_eq!(types, ["user_create", "user_activated", "user_suspended"]);
        let bob_now = users::find(&mut conn, bob.id).expect("find").expect("bob");
        assert_eq!(
            (bob_now.state, bob_now.version),
            (bob.state, bob.version),
            "refused and skipped requests leave the row alone"
        );
        let samba_now = users::find(&mut conn, samba.id)
            .expect("find")
            .expect("samba");
        assert_eq!(samba_now.state, LifecycleState::Activated);
        // ann's two events and bob's skipped activation; the refusals write nothing here.
        assert_eq!(audit::count(&mut conn).expect("count"), before + 3);
    });
}
