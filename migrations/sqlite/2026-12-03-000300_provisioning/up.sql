-- Provisioning targets (LDAP directories, SCIM apps, and resource types decided by the plan
-- alone), who is bound to them, what was written to them, and the outbox's claim lease.
CREATE TABLE resources (
    id TEXT PRIMARY KEY NOT NULL,
    name TEXT NOT NULL,
    -- Lower-cased name: two resources may not differ only in case.
    name_folded TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    url TEXT,
    bind_dn TEXT,
    -- The service account's password or token. Never returned by the API nor logged.
    secret TEXT,
    base_dn TEXT,
    options TEXT NOT NULL DEFAULT '{}',
    -- Set while the dispatcher holds the target's jobs back (401/403, failing calls, canary).
    paused_reason TEXT,
    paused_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- A user, or a user group whose members, bound to a resource.
CREATE TABLE resource_bindings (
    resource_id TEXT NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
    member_kind TEXT NOT NULL CHECK (member_kind IN ('user', 'user_group')),
    member_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (resource_id, member_kind, member_id)
);
CREATE INDEX resource_bindings_member ON resource_bindings (member_id);

-- The account Roster last wrote for a user in a target (an LDAP DN), so that a deletion or a
-- rename reaches it after the user row is gone or changed. No foreign key to users on purpose.
CREATE TABLE provisioned_accounts (
    resource_id TEXT NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL,
    remote_id TEXT NOT NULL,
    disabled BOOLEAN NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (resource_id, user_id)
);

-- A dispatcher working on a job holds it until this time; past it, another may take it over.
ALTER TABLE outbox ADD COLUMN claimed_until TIMESTAMP;
