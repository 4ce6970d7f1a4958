ALTER TABLE outbox DROP COLUMN claimed_until;
DROP TABLE provisioned_accounts;
DROP TABLE resource_bindings;
DROP TABLE resources;
