-- The feature collections of OGC API – Features. Every query returns fid (text), geom
-- (EPSG:4326), dt (the temporal property or NULL) and the collection's properties; the
-- router wraps it in the filters, paging and the CRS asked for. Territory collections read
-- the generation asked for (NULL: the active one); events and patrol tracks only the
-- caller's area (visible_events and in_scope, the one read-scope rule).

-- name: streets
SELECT s.code AS fid, s.geom, NULL::timestamptz AS dt, s.code, s.name, s.district_code,
       s.generation_id
FROM street s
WHERE s.generation_id = COALESCE(CAST(:generation AS int),
                                 (SELECT id FROM generation WHERE status = 'active'))

-- name: communities
SELECT c.code AS fid, c.geom, NULL::timestamptz AS dt, c.code, c.name, c.street_code,
       c.generation_id
FROM community c
WHERE c.generation_id = COALESCE(CAST(:generation AS int),
                                 (SELECT id FROM generation WHERE status = 'active'))

-- name: grids
SELECT g.code AS fid, g.geom, NULL::timestamptz AS dt, g.code, g.name, g.community_code,
       g.kind, g.generation_id
FROM grid g
WHERE g.generation_id = COALESCE(CAST(:generation AS int),
                                 (SELECT id FROM generation WHERE status = 'active'))

-- name: units
SELECT u.code AS fid, u.geom, NULL::timestamptz AS dt, u.code, u.name, u.grid_code,
       u.generation_id
FROM unit u
WHERE u.generation_id = COALESCE(CAST(:generation AS int),
                                 (SELECT id FROM generation WHERE status = 'active'))

-- name: buildings
SELECT b.id::text AS fid, b.geom, NULL::timestamptz AS dt, b.id, b.source, b.source_id,
       b.name, b.address, b.floors, b.height_m
FROM building b

-- name: cameras
SELECT c.code AS fid, c.geom, NULL::timestamptz AS dt, c.code, c.name, c.kind, c.status,
       c.direction_deg
FROM camera c

-- name: events
SELECT e.id::text AS fid, e.geom, e.reported_at AS dt, e.id, e.item_code,
       COALESCE(i.name_zh, i.name) AS item_name, e.source, e.status, e.level,
       e.reported_at, e.due_at, e.street_code, e.community_code, e.grid_code, e.unit_code,
       e.location_status
FROM visible_events(CAST(:scope_prefixes AS text[]), CAST(:scope_department AS text)) e
JOIN event_item i ON i.code = e.item_code
WHERE e.geom IS NOT NULL

-- name: patrol_tracks
SELECT t.id::text AS fid, t.geom, t.started_at AS dt, t.id, w.code AS worker_code,
       t.grid_code, t.started_at, t.ended_at, t.length_m
FROM patrol_track t
JOIN worker w ON w.id = t.worker_id
WHERE in_scope(t.grid_code, CAST(:scope_prefixes AS text[]))

-- name: draft_grids
SELECT g.code AS fid, g.geom, NULL::timestamptz AS dt, g.code, g.name, g.community_code,
       g.kind, g.generation_id
FROM grid g
WHERE g.generation_id = (SELECT id FROM generation WHERE status = 'draft'
                         AND source = 'ogc-draft' ORDER BY id DESC LIMIT 1)

-- name: draft_units
SELECT u.code AS fid, u.geom, NULL::timestamptz AS dt, u.code, u.name, u.grid_code,
       u.generation_id
FROM unit u
WHERE u.generation_id = (SELECT id FROM generation WHERE status = 'draft'
                         AND source = 'ogc-draft' ORDER BY id DESC LIMIT 1)
