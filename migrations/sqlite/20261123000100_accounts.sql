-- Accounts: users, API logins with their rotating refresh tokens, browser sessions and rate-limit counters.
-- Every row a user owns references users(id) ON DELETE CASCADE, so deleting an account removes it all.

CREATE TABLE users (
    id            BLOB PRIMARY KEY NOT NULL,           -- UUID v7
    email         TEXT NOT NULL,                       -- trimmed and lower-cased before it gets here
    display_name  TEXT,
    password_hash TEXT NOT NULL,                       -- argon2id PHC string
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
-- Uniqueness is the database's job: no check-then-insert race between two signups.
CREATE UNIQUE INDEX users_email_key ON users (email);

-- One row per API login: its refresh tokens form a family that dies together on logout or reuse.
CREATE TABLE api_logins (
    id         BLOB PRIMARY KEY NOT NULL,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,                       -- unix seconds
    revoked_at INTEGER
);
CREATE INDEX api_logins_user ON api_logins (user_id);

CREATE TABLE refresh_tokens (
    token_hash BLOB PRIMARY KEY NOT NULL,              -- SHA-256 of the token; the token itself is never stored
    login_id   BLOB NOT NULL REFERENCES api_logins (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER
);
CREATE INDEX refresh_tokens_login ON refresh_tokens (login_id);

-- Browser sessions (tower-sessions records). user_id is copied out of the record so that "sign out
-- everywhere", a password change and account deletion can end a user's sessions with one statement.
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY NOT NULL,
    user_id    BLOB REFERENCES users (id) ON DELETE CASCADE,
    data       TEXT NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expiry ON sessions (expires_at);

-- Fixed-window counters shared by every instance.
CREATE TABLE rate_limit_hits (
    bucket       TEXT NOT NULL,
    subject      TEXT NOT NULL,
    window_start INTEGER NOT NULL,
    hits         INTEGER NOT NULL,
    PRIMARY KEY (bucket, subject, window_start)
);
