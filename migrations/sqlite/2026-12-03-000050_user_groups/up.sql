-- User groups: pushed by identity providers as SCIM Groups, managed by admins as JumpCloud
-- user groups, and bound to resources so their members are provisioned.
CREATE TABLE user_groups (
    id TEXT PRIMARY KEY NOT NULL,
    display_name TEXT NOT NULL,
    -- Lower-cased display name: two groups may not differ only in case.
    display_name_folded TEXT NOT NULL UNIQUE,
    description TEXT,
    external_id TEXT,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX user_groups_external_id ON user_groups (external_id);

CREATE TABLE user_group_members (
    group_id TEXT NOT NULL REFERENCES user_groups (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX user_group_members_user ON user_group_members (user_id);
