-- Imports of other products' exports (issue 25): ChatGPT, Open WebUI and Parley's own.
--
-- The uploaded file is kept in the database, in chunks sealed like messages, so that whichever instance
-- claims the import job can read it; the chunks are deleted when the import ends. `total_messages` is known
-- after the first pass (which checks the whole file before anything is written) and `messages` counts up
-- during the second, for the progress bar.
CREATE TABLE imports (
    id             BLOB PRIMARY KEY NOT NULL,
    user_id        BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    state          TEXT NOT NULL CHECK (state IN ('receiving', 'queued', 'running', 'done', 'failed')),
    format         TEXT,
    byte_count     INTEGER NOT NULL,
    conversations  INTEGER NOT NULL DEFAULT 0,
    messages       INTEGER NOT NULL DEFAULT 0,
    total_messages INTEGER,
    skipped        INTEGER NOT NULL DEFAULT 0,
    error          TEXT,
    created_at     TEXT NOT NULL,
    updated_at     TEXT NOT NULL
);
CREATE INDEX imports_user ON imports (user_id, created_at);

CREATE TABLE import_chunks (
    import_id BLOB NOT NULL REFERENCES imports (id) ON DELETE CASCADE,
    seq       INTEGER NOT NULL,
    data      BLOB NOT NULL,
    PRIMARY KEY (import_id, seq)
);

-- Where an imported conversation or message came from ("chatgpt:<id>", "openwebui:<id>", "parley:<id>"):
-- importing the same export again finds them and adds nothing; a newer export adds only what is new.
ALTER TABLE conversations ADD COLUMN source_id TEXT;
CREATE UNIQUE INDEX conversations_source ON conversations (user_id, source_id) WHERE source_id IS NOT NULL;
ALTER TABLE messages ADD COLUMN source_id TEXT;
CREATE UNIQUE INDEX messages_source ON messages (conversation_id, source_id) WHERE source_id IS NOT NULL;
-- The model that wrote an assistant message, where the source names it.
ALTER TABLE messages ADD COLUMN model TEXT;
