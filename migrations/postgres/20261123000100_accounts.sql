-- Accounts: users, API logins with their rotating refresh tokens, browser sessions and rate-limit counters.
-- Every row a user owns references users(id) ON DELETE CASCADE, so deleting an account removes it all.
-- Instants the app compares in SQL as numbers (expiries, rate-limit seconds) are Unix seconds in BIGINT,
-- as on SQLite, so both backends run the same statements.

CREATE TABLE users (
    id            UUID PRIMARY KEY,                    -- UUID v7
    email         TEXT NOT NULL,                       -- trimmed and lower-cased before it gets here
    display_name  TEXT,
    password_hash TEXT NOT NULL,                       -- argon2id PHC string
    created_at    TIMESTAMPTZ NOT NULL,
    updated_at    TIMESTAMPTZ NOT NULL
);
-- Uniqueness is the database's job: no check-then-insert race between two signups.
CREATE UNIQUE INDEX users_email_key ON users (email);

-- One row per API login: its refresh tokens form a family that dies together on logout or reuse.
CREATE TABLE api_logins (
    id         UUID PRIMARY KEY,
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,                        -- unix seconds
    revoked_at BIGINT
);
CREATE INDEX api_logins_user ON api_logins (user_id);

CREATE TABLE refresh_tokens (
    token_hash BYTEA PRIMARY KEY,                      -- SHA-256 of the token; the token itself is never stored
    login_id   UUID NOT NULL REFERENCES api_logins (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT
);
CREATE INDEX refresh_tokens_login ON refresh_tokens (login_id);
CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);

-- Browser sessions (tower-sessions records). user_id is copied out of the record so that "sign out
-- everywhere", a password change and account deletion can end a user's sessions with one statement.
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    user_id    UUID REFERENCES users (id) ON DELETE CASCADE,
    data       TEXT NOT NULL,
    expires_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- Per-second hit counters shared by every instance, incremented with an upsert.
CREATE TABLE rate_limit_hits (
    bucket       TEXT NOT NULL,
    subject      TEXT NOT NULL,
    window_start BIGINT NOT NULL,
    hits         BIGINT NOT NULL,
    PRIMARY KEY (bucket, subject, window_start)
);
CREATE INDEX rate_limit_hits_age ON rate_limit_hits (window_start);
