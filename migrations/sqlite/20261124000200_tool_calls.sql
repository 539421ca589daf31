-- The tools the assistant called while writing a reply: a JSON array of {name, arguments, result}, stored
-- with the reply (NULL when it called none). Text on both backends, so the SQL that reads it is shared.
ALTER TABLE messages ADD COLUMN tool_calls TEXT;
