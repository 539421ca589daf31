-- Full-text search over messages: a tsvector of each message, generated from its content (so it is filled
-- for existing rows now, and kept right on every insert, edit and delete by PostgreSQL itself), and a GIN
-- index over it.
--
-- Text is cut into words the way SQLite's unicode61 tokenizer cuts it, so both backends find the same
-- messages: punctuation separates words (PostgreSQL's parser would otherwise keep "bob@example.com" or a
-- URL as one token that a search for "example" misses); the 'simple' configuration lower-cases and neither
-- stems nor drops stop words; unaccent (a trusted extension shipped with PostgreSQL) removes diacritics.
-- unaccent() is only STABLE, since its rules could change; naming the dictionary explicitly is what makes
-- the wrappers safe to declare IMMUTABLE, as a generated column needs.
CREATE EXTENSION IF NOT EXISTS unaccent SCHEMA public;

-- Applied to a whole tsquery as well, so it must leave ASCII punctuation alone.
CREATE FUNCTION parley_unaccent(text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT public.unaccent('public.unaccent'::regdictionary, $1) $$;

CREATE FUNCTION parley_search_text(text) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    AS $$ SELECT regexp_replace(parley_unaccent($1), '[[:punct:]]+', ' ', 'g') $$;

ALTER TABLE messages
    ADD COLUMN search_vector tsvector GENERATED ALWAYS AS (to_tsvector('simple', parley_search_text(content))) STORED;

CREATE INDEX messages_search ON messages USING GIN (search_vector);
