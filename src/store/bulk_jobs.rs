//! Bulk user-create jobs and the outcome of each of their items, kept so that
//! `GET /api/v2/bulk/users/{job_id}/results` can report them after the request.

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use super::schema::{bulk_job_results, bulk_jobs};
use super::time::{from_db, to_db};
use super::{DbConnection, StoreError, write_transaction};
use crate::domain::ids::BulkJobId;

/// A job as recorded: who ran it and with which `creation-source`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkJob {
    pub id: BulkJobId,
    pub creation_source: String,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
}

/// Whether one item of a job created its user.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ItemStatus {
    Finished,
    Failed,
}

impl ItemStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Finished => "finished",
            Self::Failed => "failed",
        }
    }
}

/// The outcome of one item, in the order the request listed it.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemResult {
    pub id: String,
    pub status: ItemStatus,
    pub status_msg: String,
    pub meta: serde_json::Value,
    pub persisted_fields: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Records a job with the outcome of every item, in one transaction.
pub fn record(
    conn: &mut DbConnection,
    job: &BulkJob,
    results: &[ItemResult],
) -> Result<(), StoreError> {
    write_transaction(conn, |conn| {
        diesel::insert_into(bulk_jobs::table)
            .values((
                bulk_jobs::id.eq(job.id.to_string()),
                bulk_jobs::creation_source.eq(&job.creation_source),
                bulk_jobs::created_by.eq(&job.created_by),
                bulk_jobs::created_at.eq(to_db(job.created_at)),
            ))
            .execute(conn)?;
        for (position, result) in results.iter().enumerate() {
            let position = i32::try_from(position)
                .map_err(|_| StoreError::corrupt("a bulk job with more than i32::MAX items"))?;
            diesel::insert_into(bulk_job_results::table)
                .values((
                    bulk_job_results::job_id.eq(job.id.to_string()),
                    bulk_job_results::position.eq(position),
                    bulk_job_results::id.eq(&result.id),
                    bulk_job_results::status.eq(result.status.as_str()),
                    bulk_job_results::status_msg.eq(&result.status_msg),
                    bulk_job_results::meta.eq(result.meta.to_string()),
                    bulk_job_results::persisted_fields.eq(result.persisted_fields.to_string()),
                    bulk_job_results::created_at.eq(to_db(result.created_at)),
                    bulk_job_results::updated_at.eq(to_db(result.updated_at)),
                ))
                .execute(conn)?;
        }
        Ok(())
    })
}

type ResultRow = (
    String,
    String,
    String,
    String,
    String,
    chrono::NaiveDateTime,
    chrono::NaiveDateTime,
);

/// The item outcomes of a job in request order, or `None` when no job has that id.
pub fn results(
    conn: &mut DbConnection,
    job: BulkJobId,
) -> Result<Option<Vec<ItemResult>>, StoreError> {
    let exists: i64 = bulk_jobs::table
        .filter(bulk_jobs::id.eq(job.to_string()))
        .count()
        .get_result(conn)?;
    if exists == 0 {
        return Ok(None);
    }
    let rows: Vec<ResultRow> = bulk_job_results::table
        .filter(bulk_job_results::job_id.eq(job.to_string()))
        .order(bulk_job_results::position.asc())
        .select((
            bulk_job_results::id,
            bulk_job_results::status,
            bulk_job_results::status_msg,
            bulk_job_results::meta,
            bulk_job_results::persisted_fields,
            bulk_job_results::created_at,
            bulk_job_results::updated_at,
        ))
        .load(conn)?;
    let corrupt = |what: &str| StoreError::corrupt(format!("bulk job {job}: bad {what}"));
    rows.into_iter()
        .map(
            |(id, status, status_msg, meta, persisted, created_at, updated_at)| {
                Ok(ItemResult {
                    id,
                    status: match status.as_str() {
                        "finished" => ItemStatus::Finished,
                        "failed" => ItemStatus::Failed,
                        _ => return Err(corrupt("status")),
                    },
                    status_msg,
                    meta: serde_json::from_str(&meta).map_err(|_| corrupt("meta"))?,
                    persisted_fields: serde_json::from_str(&persisted)
                        .map_err(|_| corrupt("persisted fields"))?,
                    created_at: from_db(created_at),
                    updated_at: from_db(updated_at),
                })
            },
        )
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::testing::on_each_backend;

    #[test]
    fn a_job_reads_back_its_items_in_request_order() {
        on_each_backend(|store| {
            let mut conn = store.conn().expect("connection");
            let now = crate::store::time::truncate_to_micros(Utc::now());
            let job = BulkJob {
                id: BulkJobId::generate(),
                creation_source: "jumpcloud:bulk".into(),
                created_by: "tests".into(),
                created_at: now,
            };
            let item = |status, message: &str| ItemResult {
                id: BulkJobId::generate().to_string(),
                status,
                status_msg: message.into(),
                meta: serde_json::json!({"index": 0}),
                persisted_fields: serde_json::json!({}),
                created_at: now,
                updated_at: now,
            };
            let items = vec![
                item(ItemStatus::Failed, "taken"),
                item(ItemStatus::Finished, "created"),
            ];
            record(&mut conn, &job, &items).expect("record");
            assert_eq!(results(&mut conn, job.id).expect("read"), Some(items));
            assert_eq!(
                results(&mut conn, BulkJobId::generate()).expect("read"),
                None
            );
        });
    }
}
