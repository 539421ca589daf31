-- A user's task list, which the assistant can also manage. Listed newest first with keyset pagination,
-- all tasks or only open or only done ones: one index per way of listing.

CREATE TABLE tasks (
    id          BLOB PRIMARY KEY NOT NULL,              -- UUID v7
    user_id     BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    title       TEXT NOT NULL,
    description TEXT,
    completed   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
CREATE INDEX tasks_user_newest ON tasks (user_id, created_at DESC, id DESC);
CREATE INDEX tasks_user_completed_newest ON tasks (user_id, completed, created_at DESC, id DESC);
