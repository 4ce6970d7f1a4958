DROP INDEX users_unix_uid;
ALTER TABLE users DROP COLUMN unix_guid;
ALTER TABLE users DROP COLUMN unix_uid;
