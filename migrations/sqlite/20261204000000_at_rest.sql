-- Private at rest (issue 23). Text people write is stored as Fernet tokens once PARLEY_ENCRYPTION_KEYS is set
-- (older rows stay readable as they are, until `parley reencrypt` seals them), so the database can no longer
-- look inside it: the search index stops reading the text and indexes keyed hashes the server computes
-- (server/src/support/at_rest/blind_index.rs), and "is the title still the default?" becomes a flag.

-- Each message names its owner, as the conversation does: searches and re-encryption read by it. Instances
-- of the previous release, still serving during a rolling upgrade, insert messages without it; the next start
-- of a new instance fills it in with their index entry (`indexed_with IS NULL`).
ALTER TABLE messages ADD COLUMN user_id BLOB;
UPDATE messages SET user_id = (SELECT c.user_id FROM conversations c WHERE c.id = messages.conversation_id);
CREATE INDEX messages_user ON messages (user_id);

-- The old index held every word in the clear: gone, with its triggers.
DROP TRIGGER messages_fts_insert;
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_update;
DROP TABLE messages_fts;

-- The index's source: the words' hashes in order, the hashes of every shorter start of each word, and which
-- search key made them (NULL: not indexed yet; the server indexes such rows in the background at start).
ALTER TABLE messages ADD COLUMN index_words TEXT;
ALTER TABLE messages ADD COLUMN index_prefixes TEXT;
ALTER TABLE messages ADD COLUMN indexed_with TEXT;
ALTER TABLE conversations ADD COLUMN index_words TEXT;
ALTER TABLE conversations ADD COLUMN index_prefixes TEXT;
ALTER TABLE conversations ADD COLUMN indexed_with TEXT;

-- A title nobody chose yet ("New chat"), which the first message may replace.
ALTER TABLE conversations ADD COLUMN default_title INTEGER NOT NULL DEFAULT 0;
UPDATE conversations SET default_title = 1 WHERE title = 'New chat';

-- External-content FTS5 tables over those columns (the hashes are stored once, in the rows), kept in step
-- by triggers. Hashes are letters only, so the plain `ascii` tokenizer reads each as one word.
CREATE VIRTUAL TABLE messages_fts USING fts5(
    index_words, index_prefixes, content = 'messages', content_rowid = 'rowid', tokenize = 'ascii'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, index_words, index_prefixes) VALUES (new.rowid, new.index_words, new.index_prefixes);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, index_words, index_prefixes)
        VALUES ('delete', old.rowid, old.index_words, old.index_prefixes);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF index_words, index_prefixes ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, index_words, index_prefixes)
        VALUES ('delete', old.rowid, old.index_words, old.index_prefixes);
    INSERT INTO messages_fts (rowid, index_words, index_prefixes) VALUES (new.rowid, new.index_words, new.index_prefixes);
END;

CREATE VIRTUAL TABLE conversations_fts USING fts5(
    index_words, index_prefixes, content = 'conversations', content_rowid = 'rowid', tokenize = 'ascii'
);
CREATE TRIGGER conversations_fts_insert AFTER INSERT ON conversations BEGIN
    INSERT INTO conversations_fts (rowid, index_words, index_prefixes) VALUES (new.rowid, new.index_words, new.index_prefixes);
END;
CREATE TRIGGER conversations_fts_delete AFTER DELETE ON conversations BEGIN
    INSERT INTO conversations_fts (conversations_fts, rowid, index_words, index_prefixes)
        VALUES ('delete', old.rowid, old.index_words, old.index_prefixes);
END;
CREATE TRIGGER conversations_fts_update AFTER UPDATE OF index_words, index_prefixes ON conversations BEGIN
    INSERT INTO conversations_fts (conversations_fts, rowid, index_words, index_prefixes)
        VALUES ('delete', old.rowid, old.index_words, old.index_prefixes);
    INSERT INTO conversations_fts (rowid, index_words, index_prefixes) VALUES (new.rowid, new.index_words, new.index_prefixes);
END;
