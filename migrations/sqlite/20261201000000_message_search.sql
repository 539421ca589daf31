-- Full-text search over messages: an FTS5 index whose content is messages.content (external content, so
-- the text is stored once), kept in step by the triggers below on insert, edit and delete (deleting a
-- conversation or an account deletes its messages by cascade, which fires them too).
-- The tokenizer folds case and diacritics ("Émile" = "emile"); the prefix indexes make "keys*" cheap.
-- The separators are the letters and numbers that PostgreSQL's unaccent turns into punctuation
-- (server/src/search.rs, UNACCENT_SEPARATORS): they split words on both backends alike.
-- The index is keyed by the messages' rowid. Should rowids ever change (a VACUUM of a table without an
-- INTEGER PRIMARY KEY may renumber them), `INSERT INTO messages_fts(messages_fts) VALUES ('rebuild')`
-- rebuilds it from the messages.
CREATE VIRTUAL TABLE messages_fts USING fts5(
    content,
    content = 'messages',
    content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2 separators ''¼½¾ŉʹʺʻʼʽˆˈˋː⅐⅑⅒⅓⅔⅕⅖⅗⅘⅙⅚⅛⅜⅝⅞⅟↉⑴⑵⑶⑷⑸⑹⑺⑻⑼⑽⑾⑿⒀⒁⒂⒃⒄⒅⒆⒇⒈⒉⒊⒋⒌⒍⒎⒏⒐⒑⒒⒓⒔⒕⒖⒗⒘⒙⒚⒛🄀🄁🄂🄃🄄🄅🄆🄇🄈🄉🄊''',
    prefix = '2 3'
);

-- Index the messages that are already there.
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, content) VALUES (new.rowid, new.content);
END;

CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
END;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF content ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, content) VALUES ('delete', old.rowid, old.content);
    INSERT INTO messages_fts (rowid, content) VALUES (new.rowid, new.content);
END;
