-- SCIM: bearer tokens issued to integrations, the server's signing secret, and indexes for
-- the filters identity providers send.
CREATE TABLE scim_tokens (
    id TEXT PRIMARY KEY NOT NULL,
    integration_id TEXT NOT NULL REFERENCES integrations (id) ON DELETE CASCADE,
    read_only BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    revoked_at TIMESTAMP
);
CREATE INDEX scim_tokens_integration ON scim_tokens (integration_id);

-- Secrets the server generates for itself (the JWT signing key). Kept in the database so that
-- every instance sharing it, and the CLI that issues tokens, use the same key.
CREATE TABLE server_secrets (
    name TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);

CREATE INDEX users_alternate_email ON users (alternate_email);
CREATE INDEX users_updated_at ON users (updated_at);
CREATE INDEX users_created_at ON users (created_at);
