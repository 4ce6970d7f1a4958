//! The audit trail: appending chained events, reading them back, and verifying the chain.
//! The tables refuse UPDATE and DELETE (triggers in the migrations), so this module only adds.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::connection::{MultiBackend, per_backend};
use super::reusable_update;
use super::schema::{audit_events, audit_head};
use super::time::{from_db, to_db, truncate_to_micros};
use super::{DbConnection, StoreError};
use crate::domain::AuditEventId;
use crate::domain::audit::{
    AuditEvent, AuditResource, ChainBreak, GENESIS_HASH, Initiator, InitiatorKind, NewAuditEvent,
    verify_chain,
};
use crate::domain::directory_insights::AuditSearch;

/// An audit event as stored; absent names are inserted as bound NULLs so that the INSERT is
/// prepared once (see `UserRow`).
#[derive(Debug, Queryable, Selectable, Insertable)]
#[diesel(table_name = audit_events, treat_none_as_null = true)]
struct AuditRow {
    seq: i64,
    id: String,
    occurred_at: chrono::NaiveDateTime,
    event_type: String,
    initiator_kind: String,
    initiator_name: Option<String>,
    resource_kind: String,
    resource_id: String,
    resource_name: Option<String>,
    details: String,
    prev_hash: String,
    hash: String,
}

impl AuditRow {
    fn from_event(event: &AuditEvent) -> Self {
        Self {
            seq: event.seq,
            id: event.id.to_string(),
            occurred_at: to_db(event.occurred_at),
            event_type: event.event_type.clone(),
            initiator_kind: event.initiated_by.kind.as_str().to_owned(),
            initiator_name: event.initiated_by.name.clone(),
            resource_kind: event.resource.kind.clone(),
            resource_id: event.resource.id.clone(),
            resource_name: event.resource.name.clone(),
            details: event.details.clone(),
            prev_hash: event.prev_hash.clone(),
            hash: event.hash.clone(),
        }
    }

    fn into_event(self) -> Result<AuditEvent, StoreError> {
        let corrupt =
            |what: &str| StoreError::corrupt(format!("audit event {}: bad {what}", self.seq));
        let kind = serde_json::from_value::<InitiatorKind>(serde_json::Value::String(
            self.initiator_kind.clone(),
        ))
        .map_err(|_| corrupt("initiator kind"))?;
        Ok(AuditEvent {
            seq: self.seq,
            id: self.id.parse::<AuditEventId>().map_err(|_| corrupt("id"))?,
            occurred_at: from_db(self.occurred_at),
            event_type: self.event_type,
            initiated_by: Initiator {
                kind,
                name: self.initiator_name,
            },
            resource: AuditResource {
                kind: self.resource_kind,
                id: self.resource_id,
                name: self.resource_name,
            },
            details: self.details,
            prev_hash: self.prev_hash,
            hash: self.hash,
        })
    }
}

/// Reads the end of the chain and holds it until the transaction ends, so that concurrent
/// writers append one after the other. On SQLite the write transaction already holds the
/// database's only write lock.
fn lock_head(conn: &mut DbConnection) -> Result<(i64, String), StoreError> {
    let query = audit_head::table
        .find(1)
        .select((audit_head::seq, audit_head::hash));
    Ok(match conn {
        DbConnection::Postgresql(pg) => query.for_update().first(pg)?,
        DbConnection::Sqlite(sqlite) => query.first(sqlite)?,
    })
}

/// Appends events at the end of the chain. Must run inside a write transaction.
pub fn append(
    conn: &mut DbConnection,
    events: Vec<NewAuditEvent>,
    now: DateTime<Utc>,
) -> Result<Vec<AuditEvent>, StoreError> {
    let (mut seq, mut prev_hash) = lock_head(conn)?;
    let occurred_at = truncate_to_micros(now);
    let mut appended = Vec::with_capacity(events.len());
    for new in events {
        seq += 1;
        let mut event = AuditEvent {
            seq,
            id: AuditEventId::generate(),
            occurred_at,
            event_type: new.event_type.as_str().to_owned(),
            initiated_by: new.initiated_by,
            resource: new.resource,
            details: new.details.to_string(),
            prev_hash: std::mem::take(&mut prev_hash),
            hash: String::new(),
        };
        event.hash = event.compute_hash();
        prev_hash.clone_from(&event.hash);
        appended.push(event);
    }
    let rows: Vec<AuditRow> = appended.iter().map(AuditRow::from_event).collect();
    match conn {
        // One multi-row INSERT per chunk: a round trip per event would cost more than the
        // statement. Chunked because a statement's bound parameters are capped.
        DbConnection::Postgresql(pg) => {
            for chunk in rows.chunks(500) {
                diesel::insert_into(audit_events::table)
                    .values(chunk)
                    .execute(pg)?;
            }
        }
        // Diesel runs a multi-row insert on SQLite as one INSERT per row anyway, each prepared
        // anew inside its own savepoint; single-row inserts reuse one prepared statement.
        DbConnection::Sqlite(sqlite) => {
            for row in &rows {
                diesel::insert_into(audit_events::table)
                    .values(row)
                    .execute(sqlite)?;
            }
        }
    }
    let head = (audit_head::seq.eq(seq), audit_head::hash.eq(&prev_hash));
    per_backend!(&mut *conn, |c| reusable_update::update(
        audit_head::table,
        head,
        audit_head::id.eq(1)
    )
    .execute(c))?;
    Ok(appended)
}

/// Events about one resource, oldest first.
pub fn for_resource(
    conn: &mut DbConnection,
    resource_id: &str,
) -> Result<Vec<AuditEvent>, StoreError> {
    audit_events::table
        .filter(audit_events::resource_id.eq(resource_id))
        .order(audit_events::seq.asc())
        .select(AuditRow::as_select())
        .load(conn)?
        .into_iter()
        .map(AuditRow::into_event)
        .collect()
}

/// Events after `after_seq`, oldest first, at most `limit`.
pub fn page(
    conn: &mut DbConnection,
    after_seq: i64,
    limit: i64,
) -> Result<Vec<AuditEvent>, StoreError> {
    audit_events::table
        .filter(audit_events::seq.gt(after_seq))
        .order(audit_events::seq.asc())
        .limit(limit)
        .select(AuditRow::as_select())
        .load(conn)?
        .into_iter()
        .map(AuditRow::into_event)
        .collect()
}

/// The events in a time window, matching the search's exact values, in the order and page it
/// asks for. Runs on the `(occurred_at)` and `(event_type, occurred_at)` indexes.
pub fn search(
    conn: &mut DbConnection,
    search: &AuditSearch,
) -> Result<Vec<AuditEvent>, StoreError> {
    let mut query = audit_events::table
        .filter(audit_events::occurred_at.ge(to_db(search.start)))
        .filter(audit_events::seq.gt(search.after_seq))
        .into_boxed::<MultiBackend>();
    if let Some(end) = search.end {
        query = query.filter(audit_events::occurred_at.lt(to_db(end)));
    }
    if !search.event_types.is_empty() {
        query = query.filter(audit_events::event_type.eq_any(&search.event_types));
    }
    if !search.resource_ids.is_empty() {
        query = query.filter(audit_events::resource_id.eq_any(&search.resource_ids));
    }
    // `seq` follows time, and unlike the time it is unique, so pages never overlap.
    query = if search.newest_first {
        query.order(audit_events::seq.desc())
    } else {
        query.order(audit_events::seq.asc())
    };
    query
        .offset(search.skip)
        .limit(search.limit)
        .select(AuditRow::as_select())
        .load(conn)?
        .into_iter()
        .map(AuditRow::into_event)
        .collect()
}

/// How many events the trail holds.
pub fn count(conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(audit_events::table.count().get_result(conn)?)
}

/// The outcome of checking the whole trail.
#[derive(Debug, PartialEq, Eq)]
pub enum Verification {
    /// Every event is linked to the one before, and the last matches the recorded head.
    Intact {
        events: i64,
    },
    Broken(ChainBreak),
    /// The events are consistent among themselves but the recorded end of the chain is not the
    /// last event: events were removed from the end.
    Truncated {
        last_seq: i64,
        head_seq: i64,
    },
}

/// Checks every event of the trail in order, a page at a time.
pub fn verify(conn: &mut DbConnection) -> Result<Verification, StoreError> {
    const PAGE: i64 = 1000;
    let (mut last_seq, mut last_hash) = (0, GENESIS_HASH.to_owned());
    loop {
        let events = page(conn, last_seq, PAGE)?;
        if events.is_empty() {
            break;
        }
        match verify_chain(last_seq, &last_hash, &events) {
            Ok((seq, hash)) => (last_seq, last_hash) = (seq, hash),
            Err(chain_break) => return Ok(Verification::Broken(chain_break)),
        }
    }
    let (head_seq, head_hash): (i64, String) = audit_head::table
        .find(1)
        .select((audit_head::seq, audit_head::hash))
        .first(conn)?;
    if head_seq != last_seq || head_hash != last_hash {
        return Ok(Verification::Truncated { last_seq, head_seq });
    }
    Ok(Verification::Intact { events: last_seq })
}
