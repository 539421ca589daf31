-- Durable background jobs (mail, analyses, webhooks) and the analyses of conversations (issue 23).
--
-- A job is claimed by one instance at a time (`FOR UPDATE SKIP LOCKED`, so instances never wait on each
-- other's claims), for a lease: a job whose instance died mid-run is claimed again once its lease has passed.
-- Done jobs are deleted; a job that used up its attempts stays, `failed`, with its last error. Times are Unix
-- milliseconds. The payload is sealed like messages (it may hold a mail's link or an analysis's summary).
CREATE TABLE jobs (
    id           UUID PRIMARY KEY,
    kind         TEXT NOT NULL,
    payload      TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'queued' CHECK (state IN ('queued', 'running', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    run_at       BIGINT NOT NULL,
    locked_until BIGINT,
    last_error   TEXT,
    created_at   BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs (state, run_at);

-- A score (0 to 100) and a one-paragraph summary (sealed) of a range of a conversation's messages. The range
-- is named by its first and last message and its size; `last_message_at` is where the next range starts even
-- when that message has since been deleted by an edit.
CREATE TABLE analyses (
    id               UUID PRIMARY KEY,
    user_id          UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    conversation_id  UUID NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    state            TEXT NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    chat_score       INTEGER,
    summary          TEXT,
    error            TEXT,
    first_message_id UUID NOT NULL,
    last_message_id  UUID NOT NULL,
    last_message_at  TIMESTAMPTZ NOT NULL,
    message_count    INTEGER NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX analyses_conversation ON analyses (conversation_id, created_at, id);

-- Signup: optional consent to the terms (PARLEY_TERMS_URL), with its time.
ALTER TABLE users ADD COLUMN terms_accepted_at TIMESTAMPTZ;
