-- Accounts people can recover: verified emails, single-use links sent by email, where each session and API
-- login comes from, and users who sign in with an existing identity provider's tokens.

-- When the user last proved they receive mail at `email` (NULL: not yet).
ALTER TABLE users ADD COLUMN email_verified_at TEXT;

-- Password-reset and email-verification links. Only a hash of the token is stored. `email` is the address
-- the link was sent to: following a verification link for an address other than the current one is how an
-- email change takes effect.
CREATE TABLE account_tokens (
    token_hash BLOB PRIMARY KEY NOT NULL,              -- SHA-256 of the 256-bit token
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    purpose    TEXT NOT NULL,                          -- 'password_reset' or 'verify_email'
    email      TEXT NOT NULL,
    expires_at INTEGER NOT NULL,                       -- unix seconds
    used_at    INTEGER
);
CREATE INDEX account_tokens_user ON account_tokens (user_id, purpose);
CREATE INDEX account_tokens_expiry ON account_tokens (expires_at);

-- What the sessions list shows. Sessions and logins from before this migration count as started now.
ALTER TABLE sessions ADD COLUMN created_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sessions ADD COLUMN user_agent TEXT;
ALTER TABLE sessions ADD COLUMN ip TEXT;
UPDATE sessions SET created_at = unixepoch(), last_seen_at = unixepoch();

ALTER TABLE api_logins ADD COLUMN last_seen_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE api_logins ADD COLUMN user_agent TEXT;
ALTER TABLE api_logins ADD COLUMN ip TEXT;
UPDATE api_logins SET last_seen_at = created_at;

-- A user of an external identity provider (Supabase, Better Auth): the token's issuer and subject name them.
CREATE TABLE external_identities (
    issuer     TEXT NOT NULL,
    subject    TEXT NOT NULL,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at TEXT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX external_identities_user ON external_identities (user_id);
