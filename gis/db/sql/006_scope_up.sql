-- The area-scope rule, once: a code lies in a scope when it starts with one of the scope's
-- prefixes (street, community and grid codes nest by prefix). NULL prefixes: everything
-- (even a NULL code); an empty array: nothing; a NULL code lies in no bounded scope.
-- gis.access.scope.in_scope is its Python twin (tests/test_scope_rule.py checks they agree).
-- One plain expression in LANGUAGE sql, IMMUTABLE and not STRICT, so the planner inlines it
-- into every query: no function call per row, and a NULL scope folds away at plan time.
CREATE FUNCTION in_scope(code text, prefixes text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT prefixes IS NULL OR COALESCE(code ^@ ANY (prefixes), false) $$;

COMMENT ON FUNCTION in_scope(text, text[]) IS
    'true when code starts with one of prefixes (NULL prefixes: everything); the area-scope rule';
