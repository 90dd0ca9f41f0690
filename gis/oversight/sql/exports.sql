-- name: events
-- The events of an export (gis.oversight.exports), oldest first: only what the caller may
-- read (visible_events with the read scope, migration 0007), then the chosen area (code
-- prefixes, in_scope), statuses, items or classes, overdue (open past its due time at
-- @now), and reporting time. Names of the item, its
-- class, the street, community and grid (of the event's own boundary generation) and the
-- responsible worker ride along.
SELECT e.id, e.item_code, COALESCE(i.name_zh, i.name) AS item_name,
       COALESCE(c.name_zh, c.name) AS class_name, e.status, e.level, e.source,
       e.location_status, e.reported_at, e.due_at, e.closed_at,
       e.street_code, s.name AS street_name, e.community_code, m.name AS community_name,
       e.grid_code, g.name AS grid_name, w.code AS worker, w.name AS worker_name,
       e.address, e.description
FROM visible_events(CAST(:scope_prefixes AS text[]), CAST(:scope_department AS text)) e
JOIN event_item i ON i.code = e.item_code
JOIN event_class c ON c.code = i.class_code
LEFT JOIN street s ON s.generation_id = e.generation_id AND s.code = e.street_code
LEFT JOIN community m ON m.generation_id = e.generation_id AND m.code = e.community_code
LEFT JOIN grid g ON g.generation_id = e.generation_id AND g.code = e.grid_code
LEFT JOIN worker w ON w.id = e.worker_id
WHERE (CAST(:area AS text[]) IS NULL OR in_scope(e.grid_code, CAST(:area AS text[])))
  AND (CAST(:status AS text[]) IS NULL OR e.status = ANY(CAST(:status AS text[])))
  AND (CAST(:items AS text[]) IS NULL OR e.item_code = ANY(CAST(:items AS text[]))
       OR i.class_code = ANY(CAST(:items AS text[])))
  AND (NOT CAST(:overdue AS boolean)
       OR (e.status = ANY(CAST(:open AS text[])) AND e.due_at < CAST(:now AS timestamptz)))
  AND (CAST(:since AS timestamptz) IS NULL OR e.reported_at >= :since)
  AND (CAST(:until AS timestamptz) IS NULL OR e.reported_at < :until)
ORDER BY e.reported_at, e.id
LIMIT :limit;
-- name: area_names
-- The names of street, community and grid codes: the active generation's, else the newest
-- generation that had the code.
SELECT DISTINCT ON (a.code) a.code, a.name
FROM (SELECT code, name, generation_id FROM street
      UNION ALL SELECT code, name, generation_id FROM community
      UNION ALL SELECT code, name, generation_id FROM grid) a
JOIN generation gen ON gen.id = a.generation_id
WHERE a.code = ANY(CAST(:codes AS text[]))
ORDER BY a.code, (gen.status = 'active') DESC, gen.id DESC;
-- name: worker_names
SELECT code, name FROM worker WHERE code = ANY(CAST(:codes AS text[]));
