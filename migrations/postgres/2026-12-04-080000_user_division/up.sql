-- The SCIM enterprise extension's division, which identity providers send beside department.
ALTER TABLE users ADD COLUMN division TEXT;
