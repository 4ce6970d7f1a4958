ALTER TABLE users DROP COLUMN division;
