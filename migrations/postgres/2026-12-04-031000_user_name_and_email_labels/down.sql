ALTER TABLE users DROP COLUMN email_primary;
ALTER TABLE users DROP COLUMN alternate_email_type;
ALTER TABLE users DROP COLUMN email_type;
ALTER TABLE users DROP COLUMN formatted_name;
