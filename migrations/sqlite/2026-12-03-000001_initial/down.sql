DROP TABLE outbox;
DROP TABLE integrations;
DROP TABLE api_keys;
DROP TABLE schedules;
DROP TABLE audit_head;
DROP TABLE audit_events;
DROP TABLE settings;
DROP TABLE users;
