-- The directory of users. Times are UTC; ids are UUID text; lists of phone numbers and
-- addresses are JSON arrays.
CREATE TABLE users (
    id TEXT PRIMARY KEY NOT NULL,
    username TEXT NOT NULL,
    -- Lower-cased username: uniqueness ignores case, the given spelling is kept above.
    username_folded TEXT NOT NULL UNIQUE,
    email TEXT NOT NULL,
    alternate_email TEXT,
    first_name TEXT,
    middle_name TEXT,
    last_name TEXT,
    display_name TEXT,
    employee_identifier TEXT UNIQUE,
    job_title TEXT,
    department TEXT,
    company TEXT,
    cost_center TEXT,
    location TEXT,
    employee_type TEXT,
    manager_id TEXT,
    phone_numbers TEXT NOT NULL DEFAULT '[]',
    addresses TEXT NOT NULL DEFAULT '[]',
    samba_service_user BOOLEAN NOT NULL DEFAULT FALSE,
    external_id TEXT,
    state TEXT NOT NULL CHECK (state IN ('STAGED', 'ACTIVATED', 'SUSPENDED')),
    state_source TEXT NOT NULL,
    state_changed_at TIMESTAMP NOT NULL,
    password_hash TEXT,
    password_expired BOOLEAN NOT NULL DEFAULT FALSE,
    password_set_at TIMESTAMP,
    creation_source TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX users_email ON users (email);
CREATE INDEX users_manager ON users (manager_id);
CREATE INDEX users_state ON users (state);
CREATE INDEX users_external_id ON users (external_id);

-- Organization settings as JSON documents under a key (e.g. newSystemUserStateDefaults).
CREATE TABLE settings (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- The audit trail: append-only, each row chained to the previous one by hash.
CREATE TABLE audit_events (
    seq BIGINT PRIMARY KEY NOT NULL,
    id TEXT NOT NULL UNIQUE,
    occurred_at TIMESTAMP NOT NULL,
    event_type TEXT NOT NULL,
    initiator_kind TEXT NOT NULL,
    initiator_name TEXT,
    resource_kind TEXT NOT NULL,
    resource_id TEXT NOT NULL,
    resource_name TEXT,
    details TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE INDEX audit_events_resource ON audit_events (resource_id, seq);
CREATE INDEX audit_events_time ON audit_events (occurred_at);
CREATE INDEX audit_events_type_time ON audit_events (event_type, occurred_at);

CREATE FUNCTION audit_events_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
FOR EACH ROW EXECUTE FUNCTION audit_events_refuse_change();
CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events
FOR EACH STATEMENT EXECUTE FUNCTION audit_events_refuse_change();

-- The end of the chain. Appending locks this one row, which orders concurrent writers.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq BIGINT NOT NULL,
    hash TEXT NOT NULL
);
INSERT INTO audit_head (id, seq, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Scheduled state changes. run_at is the effective time (suspensions are rounded up to the
-- next 10-minute boundary); requested_at is what the caller asked for.
CREATE TABLE schedules (
    id TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL,
    target_state TEXT NOT NULL CHECK (target_state IN ('ACTIVATED', 'SUSPENDED')),
    requested_at TIMESTAMP NOT NULL,
    run_at TIMESTAMP NOT NULL,
    send_activation_email BOOLEAN NOT NULL DEFAULT FALSE,
    activation_email_override TEXT,
    created_by TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX schedules_run_at ON schedules (run_at);
CREATE INDEX schedules_user ON schedules (user_id, run_at);

-- Keys for the admin API (x-api-key header). Only the SHA-256 of a key is kept: keys are long
-- random strings, so a fast hash is safe and lets a request find its key by index.
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    key_hash TEXT NOT NULL UNIQUE,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);

-- Identity providers that push users over SCIM, with their lifecycle options as JSON.
CREATE TABLE integrations (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '{}',
    created_at TIMESTAMP NOT NULL
);

-- Work to do outside the database (provisioning jobs, email), written in the same
-- transaction as the change that causes it.
CREATE TABLE outbox (
    id BIGSERIAL PRIMARY KEY,
    kind TEXT NOT NULL,
    user_id TEXT,
    target_id TEXT,
    payload TEXT NOT NULL DEFAULT '{}',
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'parked')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_user_target ON outbox (user_id, target_id, id);
