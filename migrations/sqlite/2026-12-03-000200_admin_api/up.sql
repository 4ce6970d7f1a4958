-- Email waiting to be delivered (welcome and activation messages), written in the same
-- transaction as the activation that causes it. Separate from the provisioning outbox: mail has
-- its own worker, retry policy and retention.
CREATE TABLE email_outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    user_id TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('welcome', 'activation')),
    recipient TEXT NOT NULL,
    -- The one-time set-password token an activation email links to; cleared once delivered.
    link_token TEXT,
    status TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'parked')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX email_outbox_due ON email_outbox (status, next_attempt_at);

-- One-time set-password tokens sent in activation emails; only their SHA-256 is kept.
CREATE TABLE password_tokens (
    token_hash TEXT PRIMARY KEY NOT NULL,
    user_id TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL,
    used_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX password_tokens_user ON password_tokens (user_id);

-- The one organization, with an id of JumpCloud's shape (24 hex digits) chosen at install.
INSERT INTO settings (key, value, updated_at) VALUES ('organization', '{"id":"' || lower(hex(randomblob(12))) || '","name":"Roster"}', CURRENT_TIMESTAMP);
