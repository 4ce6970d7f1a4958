DROP TABLE outbox;
DROP TABLE integrations;
DROP TABLE schedules;
DROP TABLE audit_head;
DROP TABLE audit_events;
DROP FUNCTION audit_events_refuse_change();
DROP TABLE settings;
DROP TABLE users;
