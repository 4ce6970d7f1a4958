//! The email outbox: messages queued by a transaction, claimed and delivered by the mail worker.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::connection::per_backend;
use super::schema::email_outbox;
use super::time::{from_db, to_db};
use super::{DbConnection, StoreError};

/// A message waiting to be (or already) delivered.
#[derive(Clone, PartialEq, Eq)]
pub struct QueuedEmail {
    pub id: i64,
    pub user_id: String,
    /// `welcome` or `activation`.
    pub kind: String,
    pub recipient: String,
    /// The one-time set-password token of an activation email; never logged.
    pub link_token: Option<String>,
    pub status: String,
    pub attempts: i32,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// Hides the token, so that no log line can carry a usable set-password link.
impl std::fmt::Debug for QueuedEmail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueuedEmail")
            .field("id", &self.id)
            .field("user_id", &self.user_id)
            .field("kind", &self.kind)
            .field("status", &self.status)
            .field("attempts", &self.attempts)
            .finish_non_exhaustive()
    }
}

type Row = (
    i64,
    String,
    String,
    String,
    Option<String>,
    String,
    i32,
    Option<String>,
    chrono::NaiveDateTime,
);

fn from_row(row: Row) -> QueuedEmail {
    let (id, user_id, kind, recipient, link_token, status, attempts, last_error, created_at) = row;
    QueuedEmail {
        id,
        user_id,
        kind,
        recipient,
        link_token,
        status,
        attempts,
        last_error,
        created_at: from_db(created_at),
    }
}

const COLUMNS: (
    email_outbox::id,
    email_outbox::user_id,
    email_outbox::kind,
    email_outbox::recipient,
    email_outbox::link_token,
    email_outbox::status,
    email_outbox::attempts,
    email_outbox::last_error,
    email_outbox::created_at,
) = (
    email_outbox::id,
    email_outbox::user_id,
    email_outbox::kind,
    email_outbox::recipient,
    email_outbox::link_token,
    email_outbox::status,
    email_outbox::attempts,
    email_outbox::last_error,
    email_outbox::created_at,
);

/// Queues a message, due at once. Call inside the transaction that causes it.
pub fn enqueue(
    conn: &mut DbConnection,
    user_id: &str,
    kind: &str,
    recipient: &str,
    link_token: Option<&str>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    diesel::insert_into(email_outbox::table)
        .values((
            email_outbox::user_id.eq(user_id),
            email_outbox::kind.eq(kind),
            email_outbox::recipient.eq(recipient),
            email_outbox::link_token.eq(link_token),
            email_outbox::next_attempt_at.eq(to_db(now)),
            email_outbox::created_at.eq(to_db(now)),
            email_outbox::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Takes up to `limit` due messages and leases them until `lease_until`: another worker (another
/// server on the same PostgreSQL) skips them meanwhile, and a worker that dies before finishing
/// leaves them to be retried when the lease ends. On PostgreSQL the rows are claimed with
/// `FOR UPDATE SKIP LOCKED`; SQLite has a single writer, so its write transaction suffices.
pub fn claim_due(
    conn: &mut DbConnection,
    now: DateTime<Utc>,
    lease_until: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<QueuedEmail>, StoreError> {
    super::write_transaction(conn, |conn| {
        let due = email_outbox::table
            .filter(email_outbox::status.eq("pending"))
            .filter(email_outbox::next_attempt_at.le(to_db(now)))
            .order(email_outbox::id.asc())
            .limit(limit)
            .select(COLUMNS);
        let rows: Vec<Row> = match &mut *conn {
            DbConnection::Postgresql(pg) => due.for_update().skip_locked().load(pg)?,
            DbConnection::Sqlite(sqlite) => due.load(sqlite)?,
        };
        let ids: Vec<i64> = rows.iter().map(|row| row.0).collect();
        per_backend!(&mut *conn, |c| diesel::update(
            email_outbox::table.filter(email_outbox::id.eq_any(&ids))
        )
        .set((
            email_outbox::next_attempt_at.eq(to_db(lease_until)),
            email_outbox::attempts.eq(email_outbox::attempts + 1),
            email_outbox::updated_at.eq(to_db(now)),
        ))
        .execute(c))?;
        Ok(rows
            .into_iter()
            .map(|row| {
                let mut email = from_row(row);
                email.attempts += 1;
                email
            })
            .collect())
    })
}

/// Records a delivery and forgets the link token, which now lives only in the sent message.
pub fn mark_sent(conn: &mut DbConnection, id: i64, now: DateTime<Utc>) -> Result<(), StoreError> {
    diesel::update(email_outbox::table.find(id))
        .set((
            email_outbox::status.eq("sent"),
            email_outbox::link_token.eq(None::<String>),
            email_outbox::last_error.eq(None::<String>),
            email_outbox::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Records a failed attempt: retried at `retry_at`, or parked for an admin when `None`.
pub fn mark_failed(
    conn: &mut DbConnection,
    id: i64,
    error: &str,
    retry_at: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let status = if retry_at.is_some() {
        "pending"
    } else {
        "parked"
    };
    diesel::update(email_outbox::table.find(id))
        .set((
            email_outbox::status.eq(status),
            email_outbox::last_error.eq(Some(error)),
            email_outbox::next_attempt_at.eq(to_db(retry_at.unwrap_or(now))),
            email_outbox::updated_at.eq(to_db(now)),
        ))
        .execute(conn)?;
    Ok(())
}

/// Every message queued for a user, oldest first (for tests and the CLI).
pub fn for_user(conn: &mut DbConnection, user_id: &str) -> Result<Vec<QueuedEmail>, StoreError> {
    Ok(email_outbox::table
        .filter(email_outbox::user_id.eq(user_id))
        .order(email_outbox::id.asc())
        .select(COLUMNS)
        .load::<Row>(conn)?
        .into_iter()
        .map(from_row)
        .collect())
}

/// How many messages the outbox holds in any status.
pub fn count(conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(email_outbox::table.count().get_result(conn)?)
}
