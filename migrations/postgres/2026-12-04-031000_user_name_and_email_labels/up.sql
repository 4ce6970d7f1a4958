-- What an identity provider sent that the JumpCloud-shaped record has no field for: the full
-- name as given (SCIM name.formatted), the labels of the two addresses (emails[].type) and
-- whether the main address was marked primary.
ALTER TABLE users ADD COLUMN formatted_name TEXT;
ALTER TABLE users ADD COLUMN email_type TEXT NOT NULL DEFAULT 'work';
ALTER TABLE users ADD COLUMN alternate_email_type TEXT NOT NULL DEFAULT 'other';
ALTER TABLE users ADD COLUMN email_primary BOOLEAN NOT NULL DEFAULT TRUE;
