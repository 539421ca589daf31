-- Private at rest (issue 23). Text people write is stored as Fernet tokens once PARLEY_ENCRYPTION_KEYS is set
-- (older rows stay readable as they are, until `parley reencrypt` seals them), so the database can no longer
-- look inside it: the search index stops reading the text and indexes keyed hashes the server computes
-- (server/src/support/at_rest/blind_index.rs), and "is the title still the default?" becomes a flag.

-- Each message names its owner, as the conversation does: searches and re-encryption read by it. Not NOT
-- NULL: instances of the previous release, still serving during a rolling upgrade, insert messages without
-- it; the next start of a new instance fills it in with their index entry (`indexed_with IS NULL`).
ALTER TABLE messages ADD COLUMN user_id UUID REFERENCES users (id) ON DELETE CASCADE;
UPDATE messages m SET user_id = c.user_id FROM conversations c WHERE c.id = m.conversation_id;
CREATE INDEX messages_user ON messages (user_id);

-- The old index held every word in the clear: gone, with what computed it.
DROP INDEX messages_search;
ALTER TABLE messages DROP COLUMN search_vector;
DROP FUNCTION parley_search_text(text);
DROP FUNCTION parley_unaccent(text);

-- The index's source: the words' hashes in order, the hashes of every shorter start of each word, and which
-- search key made them (NULL: not indexed yet; the server indexes such rows in the background at start).
-- The tsvector is generated from them: words first, so a phrase's positions stay adjacent.
ALTER TABLE messages
    ADD COLUMN index_words TEXT,
    ADD COLUMN index_prefixes TEXT,
    ADD COLUMN indexed_with TEXT,
    ADD COLUMN search_vector tsvector GENERATED ALWAYS AS
        (to_tsvector('simple', coalesce(index_words, '') || ' ' || coalesce(index_prefixes, ''))) STORED;
CREATE INDEX messages_search ON messages USING GIN (search_vector);

ALTER TABLE conversations
    ADD COLUMN index_words TEXT,
    ADD COLUMN index_prefixes TEXT,
    ADD COLUMN indexed_with TEXT,
    ADD COLUMN search_vector tsvector GENERATED ALWAYS AS
        (to_tsvector('simple', coalesce(index_words, '') || ' ' || coalesce(index_prefixes, ''))) STORED;
CREATE INDEX conversations_search ON conversations USING GIN (search_vector);

-- A title nobody chose yet ("New chat"), which the first message may replace.
ALTER TABLE conversations ADD COLUMN default_title BOOLEAN NOT NULL DEFAULT FALSE;
UPDATE conversations SET default_title = TRUE WHERE title = 'New chat';
