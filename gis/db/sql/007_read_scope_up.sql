-- The read-scope rule, once: the events a caller may read are those whose grid lies in its
-- area (in_scope, migration 0006) and, for a department, those it was notified of (a
-- department row in event_dispatch). NULL prefixes: every event; NULL department: no
-- notifications count. gis.access.auth.read_scope builds both arguments.
-- A set-returning LANGUAGE sql function, STABLE and not STRICT, so the planner inlines it in
-- FROM: `FROM visible_events(...) e` plans as `FROM event e WHERE <the rule>` (the event
-- list keeps its indexes, the EXISTS its hashed subplan, a NULL scope folds away). A boolean
-- function of one event could not be inlined (its EXISTS is a sublink): one call per row.
CREATE FUNCTION visible_events(prefixes text[], department text) RETURNS SETOF event
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
SELECT e.* FROM event e
WHERE in_scope(e.grid_code, visible_events.prefixes)
   OR EXISTS (SELECT 1 FROM event_dispatch d
              WHERE d.event_id = e.id AND d.department = visible_events.department)
$$;

COMMENT ON FUNCTION visible_events(text[], text) IS
    'the events a caller may read: grid in prefixes (NULL: all) or notified to department';
