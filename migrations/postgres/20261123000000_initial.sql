-- The first migration: a table that records this database's identity, so health checks and later
-- migrations have something real to read. Accounts and conversations arrive in their own migrations.
-- (PostgreSQL twin of migrations/sqlite: same tables and names, native types.)
CREATE TABLE IF NOT EXISTS app_meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
);

INSERT INTO app_meta (key, value) VALUES ('schema_origin', 'parley') ON CONFLICT (key) DO NOTHING;
