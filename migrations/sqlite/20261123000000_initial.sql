-- The first migration: a table that records this database's identity, so health checks and later
-- migrations have something real to read. Accounts and conversations arrive in their own migrations.
CREATE TABLE IF NOT EXISTS app_meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

INSERT OR IGNORE INTO app_meta (key, value) VALUES ('schema_origin', 'parley');
