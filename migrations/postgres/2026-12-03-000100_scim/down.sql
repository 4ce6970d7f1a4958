DROP INDEX users_created_at;
DROP INDEX users_updated_at;
DROP INDEX users_alternate_email;
DROP TABLE server_secrets;
DROP TABLE scim_tokens;
