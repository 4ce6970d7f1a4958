DELETE FROM settings WHERE key = 'organization';
DROP TABLE password_tokens;
DROP TABLE email_outbox;
