-- Bulk user-create jobs (POST /api/v2/bulk/users) and the outcome of each item.
CREATE TABLE bulk_jobs (
    id TEXT PRIMARY KEY NOT NULL,
    creation_source TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE TABLE bulk_job_results (
    job_id TEXT NOT NULL REFERENCES bulk_jobs (id),
    position INTEGER NOT NULL,
    id TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('finished', 'failed')),
    status_msg TEXT NOT NULL,
    meta TEXT NOT NULL,
    persisted_fields TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (job_id, position)
);
