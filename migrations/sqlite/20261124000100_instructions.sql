-- What the user wants the assistant to know about them and their goals (custom instructions), sent as the
-- system message of every conversation. At most 4,000 characters; NULL when there are none.
ALTER TABLE users ADD COLUMN instructions TEXT;
