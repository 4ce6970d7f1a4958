-- Password-reset emails share the email outbox with welcome and activation emails.
ALTER TABLE email_outbox DROP CONSTRAINT email_outbox_kind_check;
ALTER TABLE email_outbox ADD CONSTRAINT email_outbox_kind_check
    CHECK (kind IN ('welcome', 'activation', 'password_reset'));
