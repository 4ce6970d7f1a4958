-- The POSIX ids of JumpCloud's record (unix_uid, unix_guid), which LDAP directories with
-- posixAccount entries use. Users that exist already get ids from 5000 on, in creation order
-- (ids are time-ordered), as Roster assigns them to new users.
ALTER TABLE users ADD COLUMN unix_uid BIGINT;
ALTER TABLE users ADD COLUMN unix_guid BIGINT;
UPDATE users SET unix_uid = numbered.n, unix_guid = numbered.n
FROM (SELECT id, 4999 + ROW_NUMBER() OVER (ORDER BY id) AS n FROM users) AS numbered
WHERE numbered.id = users.id;
CREATE UNIQUE INDEX users_unix_uid ON users (unix_uid);
