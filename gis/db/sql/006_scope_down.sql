DROP FUNCTION IF EXISTS in_scope(text, text[]);
