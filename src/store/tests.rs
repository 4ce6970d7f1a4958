//! The store's behaviour, run on SQLite and, when configured, on PostgreSQL.

use chrono::Utc;
use diesel::connection::SimpleConnection;
use serde_json::json;

use super::testing::{on_each_backend, postgres_url, sample_user};
use super::users::{UserChange, apply_user_change};
use super::{
    Store, StoreError, StoreOptions, UniqueField, audit, outbox, settings, users, write_transaction,
};
use crate::domain::audit::{AuditResource, EventType, Initiator, NewAuditEvent};
use crate::domain::{DefaultState, ResourceId, StateDefaults, User, UserId};

fn event_for(user: &User, event_type: EventType) -> NewAuditEvent {
    NewAuditEvent {
        event_type,
        initiated_by: Initiator::admin("tests"),
        resource: AuditResource::user(user.id, user.username.as_str()),
        details: json!({}),
    }
}

fn create(store: &Store, user: &User) -> Result<(), StoreError> {
    let mut conn = store.conn()?;
    write_transaction(&mut conn, |conn| {
        apply_user_change(
            conn,
            UserChange::Create(user),
            vec![event_for(user, EventType::UserCreate)],
            Utc::now(),
        )
    })
}

fn audit_count(store: &Store) -> i64 {
    audit::count(&mut store.conn().expect("conn")).expect("count")
}

#[test]
fn a_user_reads_back_as_written() {
    on_each_backend(|store| {
        let mut user = sample_user("Alice");
        user.first_name = Some("Alice".into());
        user.employee_identifier = Some("E-1".into());
        user.phone_numbers = vec![crate::domain::PhoneNumber {
            kind: "work".into(),
            number: "+1 555 0100".into(),
        }];
        create(store, &user).expect("create");
        let mut conn = store.conn().expect("conn");
        assert_eq!(
            users::find(&mut conn, user.id).expect("find"),
            Some(user.clone())
        );
        let by_name = users::find_by_username(&mut conn, "ALICE").expect("find by name");
        assert_eq!(by_name.map(|u| u.id), Some(user.id));
    });
}

#[test]
fn a_missing_user_is_none_not_an_error() {
    on_each_backend(|store| {
        let mut conn = store.conn().expect("conn");
        let missing = crate::domain::UserId::generate();
        assert_eq!(users::find(&mut conn, missing).expect("query works"), None);
    });
}

#[test]
fn usernames_are_unique_regardless_of_case_and_a_refused_create_writes_nothing() {
    on_each_backend(|store| {
        create(store, &sample_user("bob")).expect("first");
        let before = audit_count(store);
        let error = create(store, &sample_user("BOB")).expect_err("duplicate");
        assert!(
            matches!(error, StoreError::Duplicate(UniqueField::UserName)),
            "{error:?}"
        );
        assert_eq!(
            audit_count(store),
            before,
            "no audit event for a refused create"
        );
        let listed = users::list(&mut store.conn().expect("conn"), 0, 10).expect("list");
        assert_eq!(listed.len(), 1);
    });
}

#[test]
fn employee_identifiers_are_unique_when_present() {
    on_each_backend(|store| {
        create(store, &sample_user("no-id-1")).expect("no id");
        create(store, &sample_user("no-id-2")).expect("no id either");
        let mut first = sample_user("carol");
        first.employee_identifier = Some("E-7".into());
        create(store, &first).expect("first E-7");
        let mut second = sample_user("dave");
        second.employee_identifier = Some("E-7".into());
        let error = create(store, &second).expect_err("second E-7");
        assert!(
            matches!(
                error,
                StoreError::Duplicate(UniqueField::EmployeeIdentifier)
            ),
            "{error:?}"
        );
    });
}

#[test]
fn a_stale_update_is_refused_and_a_deleted_row_is_gone() {
    on_each_backend(|store| {
        let user = sample_user("erin");
        create(store, &user).expect("create");
        let mut conn = store.conn().expect("conn");
        let mut next = user.clone();
        next.version += 1;
        next.job_title = Some("Engineer".into());
        let update = |conn: &mut super::DbConnection, before: &User, after: &User| {
            write_transaction(conn, |conn| {
                apply_user_change(
                    conn,
                    UserChange::Update { before, after },
                    vec![event_for(after, EventType::UserUpdate)],
                    Utc::now(),
                )
            })
        };
        update(&mut conn, &user, &next).expect("first update");
        let error = update(&mut conn, &user, &next).expect_err("same version again");
        assert!(matches!(error, StoreError::VersionMismatch), "{error:?}");
        write_transaction(&mut conn, |conn| {
            apply_user_change(
                conn,
                UserChange::Delete(&next),
                vec![event_for(&next, EventType::UserDelete)],
                Utc::now(),
            )
        })
        .expect("delete");
        let mut later = next.clone();
        later.version += 1;
        let error = update(&mut conn, &next, &later).expect_err("row is gone");
        assert!(matches!(error, StoreError::Gone), "{error:?}");
    });
}

#[test]
fn a_change_without_an_audit_event_is_refused() {
    on_each_backend(|store| {
        let user = sample_user("frank");
        let mut conn = store.conn().expect("conn");
        let error = write_transaction(&mut conn, |conn| {
            apply_user_change(conn, UserChange::Create(&user), vec![], Utc::now())
        })
        .expect_err("unaudited");
        assert!(matches!(error, StoreError::Unaudited));
        assert_eq!(users::find(&mut conn, user.id).expect("find"), None);
    });
}

#[test]
fn the_audit_chain_verifies_after_changes() {
    on_each_backend(|store| {
        for name in ["g1", "g2", "g3"] {
            create(store, &sample_user(name)).expect("create");
        }
        let mut conn = store.conn().expect("conn");
        assert_eq!(
            audit::verify(&mut conn).expect("verify"),
            audit::Verification::Intact { events: 3 }
        );
    });
}

#[test]
fn audit_events_cannot_be_updated_or_deleted() {
    on_each_backend(|store| {
        create(store, &sample_user("henry")).expect("create");
        let mut conn = store.conn().expect("conn");
        for statement in [
            "UPDATE audit_events SET event_type = 'user_update'",
            "DELETE FROM audit_events",
        ] {
            let error = conn.batch_execute(statement).expect_err(statement);
            assert!(error.to_string().contains("append-only"), "{error}");
        }
        assert_eq!(audit_count(store), 1);
    });
}

/// Turns the append-only guard off, as someone with direct database access could.
fn disable_audit_guard(conn: &mut super::DbConnection) {
    let statement = match conn {
        super::DbConnection::Sqlite(_) => {
            "DROP TRIGGER audit_events_append_only_update; \
             DROP TRIGGER audit_events_append_only_delete;"
        }
        super::DbConnection::Postgresql(_) => "ALTER TABLE audit_events DISABLE TRIGGER USER",
    };
    conn.batch_execute(statement).expect("disable guard");
}

#[test]
fn verification_detects_an_altered_event() {
    on_each_backend(|store| {
        for name in ["i1", "i2", "i3"] {
            create(store, &sample_user(name)).expect("create");
        }
        let mut conn = store.conn().expect("conn");
        disable_audit_guard(&mut conn);
        conn.batch_execute("UPDATE audit_events SET resource_name = 'mallory' WHERE seq = 2")
            .expect("tamper");
        assert_eq!(
            audit::verify(&mut conn).expect("verify"),
            audit::Verification::Broken(crate::domain::audit::ChainBreak::Altered { seq: 2 })
        );
    });
}

#[test]
fn verification_detects_removed_events() {
    on_each_backend(|store| {
        for name in ["j1", "j2", "j3"] {
            create(store, &sample_user(name)).expect("create");
        }
        let mut conn = store.conn().expect("conn");
        disable_audit_guard(&mut conn);
        conn.batch_execute("DELETE FROM audit_events WHERE seq = 3")
            .expect("tamper");
        assert_eq!(
            audit::verify(&mut conn).expect("verify"),
            audit::Verification::Truncated {
                last_seq: 2,
                head_seq: 3
            }
        );
        conn.batch_execute("DELETE FROM audit_events WHERE seq = 1")
            .expect("tamper");
        assert!(matches!(
            audit::verify(&mut conn).expect("verify"),
            audit::Verification::Broken(crate::domain::audit::ChainBreak::Missing { .. })
        ));
    });
}

#[test]
fn concurrent_writers_keep_the_chain_whole() {
    on_each_backend(|store| {
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let store = store.clone();
                std::thread::spawn(move || {
                    for i in 0..10 {
                        create(&store, &sample_user(&format!("w{t}-{i}"))).expect("create");
                    }
                })
            })
            .collect();
        for thread in threads {
            thread.join().expect("writer thread");
        }
        let mut conn = store.conn().expect("conn");
        assert_eq!(
            audit::verify(&mut conn).expect("verify"),
            audit::Verification::Intact { events: 40 }
        );
    });
}

#[test]
fn state_defaults_start_activated_and_can_be_changed() {
    on_each_backend(|store| {
        let mut conn = store.conn().expect("conn");
        assert_eq!(
            settings::state_defaults(&mut conn).expect("read"),
            StateDefaults::default()
        );
        let staged = StateDefaults {
            manual_entry: DefaultState::Staged,
            ..StateDefaults::default()
        };
        for _ in 0..2 {
            settings::set_state_defaults(&mut conn, &staged, Utc::now()).expect("write");
        }
        assert_eq!(settings::state_defaults(&mut conn).expect("read"), staged);
    });
}

#[test]
fn an_unreachable_database_is_unavailable_not_missing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let no_such_dir = dir.path().join("absent").join("roster.db");
    let error = Store::open(&StoreOptions::new(no_such_dir.to_string_lossy()))
        .expect_err("directory does not exist");
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");

    let closed_port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let url = format!("postgres://roster:secret@127.0.0.1:{closed_port}/roster");
    let error = Store::open(&StoreOptions::new(url)).expect_err("nothing listens there");
    let message = error.to_string();
    assert!(matches!(error, StoreError::Unavailable(_)), "{error:?}");
    assert!(
        message.contains("refused") || message.contains("connect"),
        "{message}"
    );
    assert!(!message.contains("secret"), "{message}");
}

#[test]
fn losing_the_database_after_start_is_unavailable() {
    let Some(admin_url) = postgres_url() else {
        // Covered on SQLite by the test above; this one needs a server it can take away.
        return;
    };
    let database = super::testing::postgres(&admin_url);
    let store = database.store.clone();
    drop(database); // drops the database and ends its connections
    let result = store
        .conn()
        .and_then(|mut conn| users::find(&mut conn, crate::domain::UserId::generate()));
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
}

#[test]
fn both_backends_have_the_same_migrations() {
    let names = |backend: &str| {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("migrations")
            .join(backend);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .expect("migrations directory")
            .map(|entry| {
                entry
                    .expect("entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    };
    assert_eq!(names("sqlite"), names("postgres"));
}

#[test]
fn queued_jobs_wake_the_dispatchers_once_the_outermost_transaction_commits() {
    on_each_backend(|store| {
        let conn = &mut store.conn().expect("conn");
        let wakes = || outbox::WAKES_FROM_THIS_THREAD.get();
        let (user, resource) = (UserId::generate(), ResourceId::generate());
        let before = wakes();
        write_transaction(conn, |conn| {
            write_transaction(conn, |conn| {
                outbox::enqueue(conn, user, resource, Utc::now())
            })?;
            // A dispatcher woken now would not see the job on PostgreSQL.
            assert_eq!(wakes(), before, "a savepoint is not a commit");
            Ok::<_, StoreError>(())
        })
        .expect("commit");
        assert_eq!(wakes(), before + 1, "the commit wakes the dispatchers");

        let rolled_back = write_transaction(conn, |conn| {
            outbox::enqueue(conn, user, resource, Utc::now())?;
            Err::<(), _>(StoreError::Gone)
        });
        assert!(rolled_back.is_err());
        write_transaction(conn, |_| Ok::<_, StoreError>(())).expect("commit");
        assert_eq!(
            wakes(),
            before + 1,
            "neither a rollback nor a commit that queued nothing wakes anybody"
        );
        use super::schema::outbox as jobs;
        use diesel::prelude::*;
        let rows: i64 = jobs::table
            .filter(jobs::user_id.eq(user.to_string()))
            .count()
            .get_result(conn)
            .expect("count");
        assert_eq!(rows, 1, "the rolled-back job is gone");
    });
}
