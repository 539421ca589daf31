-- Conversations and their messages. Both lists are read with keyset pagination on these indexes, so a
-- page costs the same at any depth.

CREATE TABLE conversations (
    id         UUID PRIMARY KEY,                       -- UUID v7
    user_id    UUID NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title      TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX conversations_user_recent ON conversations (user_id, updated_at DESC, id DESC);

CREATE TABLE messages (
    id              UUID PRIMARY KEY,                  -- UUID v7
    conversation_id UUID NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    role            TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
    content         TEXT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX messages_conversation_time ON messages (conversation_id, created_at, id);
