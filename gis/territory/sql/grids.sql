-- name: active_grids
SELECT g.code, g.name, g.kind, g.community_code, c.street_code, g.generation_id,
       ST_AsGeoJSON(g.geom, 7)::json AS geometry,
       round(ST_Area(g.geom::geography)::numeric, 1) AS area_m2
FROM grid g
JOIN generation gen ON gen.id = g.generation_id AND gen.status = 'active'
JOIN community c ON c.generation_id = g.generation_id AND c.code = g.community_code
ORDER BY g.code;
-- name: grid
SELECT g.id, g.code, g.name, g.kind, g.community_code, c.name AS community_name,
       c.street_code, s.name AS street_name, s.district_code, g.generation_id,
       ST_AsGeoJSON(g.geom, 7)::json AS geometry,
       round(ST_Area(g.geom::geography)::numeric, 1) AS area_m2,
       (SELECT count(*) FROM unit u WHERE u.generation_id = g.generation_id
                                      AND u.grid_code = g.code) AS units
FROM grid g
JOIN community c ON c.generation_id = g.generation_id AND c.code = g.community_code
JOIN street s ON s.generation_id = g.generation_id AND s.code = c.street_code
WHERE g.code = :code
  AND g.generation_id = COALESCE(CAST(:generation AS int),
                                 (SELECT id FROM generation WHERE status = 'active'));
-- name: people
SELECT w.code, w.name, r.role, r.area_code, r.valid_from, r.valid_to
FROM grid_role r JOIN worker w ON w.id = r.worker_id
WHERE in_scope(r.area_code, ARRAY[CAST(:code AS text)])
  AND r.valid_from <= now() AND (r.valid_to IS NULL OR r.valid_to > now())
ORDER BY CASE r.role WHEN 'grid_leader' THEN 0 WHEN 'full_time' THEN 1 ELSE 2 END,
         r.area_code, w.code;
-- name: open_events
SELECT e.id, e.item_code, e.status, e.level, e.reported_at, e.due_at, e.unit_code,
       ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat, e.description
-- only what the caller may read (gis.access.auth.read_scope; the rule: visible_events, 0007)
FROM visible_events(CAST(:scope_prefixes AS text[]), CAST(:scope_department AS text)) e
WHERE e.grid_code = :code AND e.status NOT IN ('closed', 'rejected', 'duplicate')
ORDER BY e.reported_at DESC
LIMIT :limit;
-- name: open_event_counts
SELECT e.status, count(*) AS n
FROM visible_events(CAST(:scope_prefixes AS text[]), CAST(:scope_department AS text)) e
WHERE e.grid_code = :code AND e.status NOT IN ('closed', 'rejected', 'duplicate')
GROUP BY e.status;
