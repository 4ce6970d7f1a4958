//! The mail worker's step against a real database, writing `.eml` files.

use chrono::Utc;

use super::{Mailer, Transport};
use crate::domain::activation_email::EmailRequest;
use crate::domain::{CreationMethod, LifecycleState};
use crate::service::activation::activate;
use crate::service::users::{Actor, NewUser, create_user};
use crate::store::email_outbox;
use crate::store::testing::{on_each_backend, sample_user};

#[test]
fn due_email_is_written_once_and_its_token_forgotten() {
    on_each_backend(|store| {
        let dir = tempfile::tempdir().expect("tempdir");
        let mailer = Mailer {
            store: store.clone(),
            transport: Transport::Files(dir.path().to_path_buf()),
            from: "Roster <roster@localhost>".parse().expect("mailbox"),
            base_url: "https://roster.example".into(),
        };
        let user = {
            let mut conn = store.conn().expect("conn");
            let new = NewUser {
                user: sample_user("mia"),
                requested_state: Some(LifecycleState::Staged),
                method: CreationMethod::AdminApi,
            };
            let user = create_user(&mut conn, new, &Actor::admin("t"), Utc::now()).expect("create");
            activate(
                &mut conn,
                user.id,
                &EmailRequest::Default,
                &Actor::admin("t"),
                Utc::now(),
            )
            .expect("activate");
            user
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let now = Utc::now();
        let outcome = runtime.block_on(mailer.deliver_due(now)).expect("step");
        assert_eq!((outcome.sent, outcome.failed), (1, 0));
        let again = runtime.block_on(mailer.deliver_due(now)).expect("step");
        assert_eq!(again.sent, 0, "delivered once");

        let files: Vec<_> = std::fs::read_dir(dir.path())
            .expect("dir")
            .flatten()
            .collect();
        assert_eq!(files.len(), 1);
        let text = std::fs::read_to_string(files[0].path()).expect("eml");
        assert!(text.contains("To: mia@example.com"), "{text}");
        assert!(
            text.contains("https://roster.example/set-password?token"),
            "{text}"
        );
        let mut conn = store.conn().expect("conn");
        let stored = email_outbox::for_user(&mut conn, &user.id.to_string()).expect("outbox");
        assert_eq!(stored[0].status, "sent");
        assert_eq!(stored[0].link_token, None);
    });
}

#[test]
fn a_failed_delivery_is_retried_later_then_parked() {
    on_each_backend(|store| {
        let mut conn = store.conn().expect("conn");
        let now = Utc::now();
        email_outbox::enqueue(
            &mut conn,
            "no-such-user",
            "welcome",
            "x@example.com",
            None,
            now,
        )
        .expect("enqueue");
        let mailer = Mailer {
            store: store.clone(),
            transport: Transport::Files(std::env::temp_dir()),
            from: "Roster <roster@localhost>".parse().expect("mailbox"),
            base_url: "http://localhost".into(),
        };
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let outcome = runtime.block_on(mailer.deliver_due(now)).expect("step");
        assert_eq!(outcome.failed, 1);
        assert_eq!(
            runtime
                .block_on(mailer.deliver_due(now))
                .expect("step")
                .failed,
            0,
            "not retried before its backoff"
        );
        let mut later = now;
        for _ in 1..super::MAX_ATTEMPTS {
            later += chrono::Duration::days(2);
            runtime.block_on(mailer.deliver_due(later)).expect("step");
        }
        let stored = email_outbox::for_user(&mut conn, "no-such-user").expect("outbox");
        assert_eq!(stored[0].status, "parked");
        assert!(stored[0].last_error.is_some());
    });
}
