-- Boundaries: validation context, preview and export (activation, rollback and the
-- re-location of open events: gis/territory/sql/activation.sql).

-- name: areas_district
SELECT code, name, NULL::text AS parent_code, 'basic' AS kind, ST_AsBinary(geom) AS wkb
FROM district WHERE generation_id = :g ORDER BY code;
-- name: areas_street
SELECT code, name, district_code AS parent_code, 'basic' AS kind, ST_AsBinary(geom) AS wkb
FROM street WHERE generation_id = :g ORDER BY code;
-- name: areas_community
SELECT code, name, street_code AS parent_code, 'basic' AS kind, ST_AsBinary(geom) AS wkb
FROM community WHERE generation_id = :g ORDER BY code;
-- name: areas_grid
SELECT code, name, community_code AS parent_code, kind, ST_AsBinary(geom) AS wkb
FROM grid WHERE generation_id = :g ORDER BY code;
-- name: areas_unit
SELECT code, name, grid_code AS parent_code, 'basic' AS kind, ST_AsBinary(geom) AS wkb
FROM unit WHERE generation_id = :g ORDER BY code;

-- name: area_levels
SELECT code, level FROM area WHERE code = ANY(:codes);

-- name: buildings_in_box
-- (geom && box first: served by building_geom_gist; a building's point lies inside its geom)
SELECT id, ST_X(point) AS lon, ST_Y(point) AS lat FROM building
WHERE geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)
  AND point && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326);

-- name: preview_events_tail
-- Appended to locate_open: the moves per (old grid, new grid), without changing anything.
SELECT m.grid_code AS old_grid, m.n_grid_code AS new_grid, ow.code AS old_worker,
       nw.code AS new_worker, count(*) AS n
FROM moves m
LEFT JOIN worker ow ON ow.id = m.worker_id
LEFT JOIN worker nw ON nw.id = m.n_worker_id
GROUP BY 1, 2, 3, 4

-- name: open_events_total
SELECT count(*) FROM event
WHERE status NOT IN ('closed', 'rejected', 'duplicate') AND geom IS NOT NULL;

-- name: preview_buildings
-- Buildings whose grid changes: grid piece of the base generation vs the new one.
WITH x AS MATERIALIZED (
    SELECT ST_SetSRID(ST_Extent(geom)::geometry, 4326) AS box FROM area_piece
    WHERE generation_id IN (:gen, :base) AND level = 'grid'
),
b AS (
    SELECT b.id, b.point FROM building b, x
    WHERE b.geom && x.box AND b.point && x.box
),
o AS (
    SELECT b.id, (SELECT p.code FROM area_piece p WHERE p.geom && b.point AND p.level = 'grid'
                  AND p.generation_id = :base AND ST_Intersects(p.geom, b.point)
                  ORDER BY p.code LIMIT 1) AS old_grid,
                 (SELECT p.code FROM area_piece p WHERE p.geom && b.point AND p.level = 'grid'
                  AND p.generation_id = :gen AND ST_Intersects(p.geom, b.point)
                  ORDER BY p.code LIMIT 1) AS new_grid
    FROM b
)
SELECT old_grid, new_grid, count(*) AS n FROM o
WHERE old_grid IS DISTINCT FROM new_grid GROUP BY 1, 2;

-- name: grid_workers
-- The workers answering for the grids @codes now, the responsible one first (migration 0020).
SELECT grid_code AS area_code, worker_code AS code, role FROM grid_responsibility
WHERE grid_code = ANY(:codes) AND valid_from <= now() AND (valid_to IS NULL OR now() < valid_to)
ORDER BY grid_code, precedence;

-- name: export
SELECT 'district' AS level, code, name, NULL::text AS parent_code, NULL::text AS kind,
       ST_AsBinary(geom) AS wkb, 0 AS o FROM district WHERE generation_id = :g
UNION ALL
SELECT 'street', code, name, district_code, NULL, ST_AsBinary(geom), 1 FROM street
WHERE generation_id = :g
UNION ALL
SELECT 'community', code, name, street_code, NULL, ST_AsBinary(geom), 2 FROM community
WHERE generation_id = :g
UNION ALL
SELECT 'grid', code, name, community_code, kind, ST_AsBinary(geom), 3 FROM grid
WHERE generation_id = :g
UNION ALL
SELECT 'unit', code, name, grid_code, NULL, ST_AsBinary(geom), 4 FROM unit
WHERE generation_id = :g
ORDER BY o, code;

-- name: activation_moves
-- After an activation: the events it moved per (old grid, new grid, old worker, new worker).
SELECT a.grid_code AS old_grid, e.grid_code AS new_grid, ow.code AS old_worker,
       nw.code AS new_worker, count(*) AS n
FROM event_assignment a
JOIN event e ON e.id = a.event_id
LEFT JOIN worker ow ON ow.id = a.worker_id
LEFT JOIN worker nw ON nw.id = e.worker_id
WHERE a.activation_id = :activation
  AND (a.grid_code IS DISTINCT FROM e.grid_code OR a.unit_code IS DISTINCT FROM e.unit_code
       OR a.worker_id IS DISTINCT FROM e.worker_id
       OR a.location_status IS DISTINCT FROM e.location_status)
GROUP BY 1, 2, 3, 4;


-- Bulk store of a generation (boundaries/bulk.py): COPY into a temporary table, then one
-- INSERT ... SELECT per level; statements per level, never composed from values.

-- name: bulk_stage
CREATE TEMP TABLE IF NOT EXISTS boundaries_bulk (ord int, level text, code text,
    name text, parent_code text, kind text, wkb text) ON COMMIT DROP;

-- name: bulk_truncate
TRUNCATE boundaries_bulk;

-- name: bulk_copy
-- psycopg2 copy_expert: CSV rows (ord, level, code, name, parent_code, kind, hex WKB).
COPY boundaries_bulk FROM STDIN WITH (FORMAT csv,
    FORCE_NOT_NULL (code, name, parent_code, kind, wkb));

-- name: bulk_area_codes
INSERT INTO area (code, level) SELECT code, level FROM boundaries_bulk
ORDER BY array_position(ARRAY['district', 'street', 'community', 'grid', 'unit'], level), ord
ON CONFLICT (code) DO NOTHING;

-- name: bulk_insert_district
INSERT INTO district (generation_id, code, name, geom)
SELECT :g, code, name, ST_GeomFromWKB(decode(wkb, 'hex'), 4326)
FROM boundaries_bulk WHERE level = 'district' ORDER BY ord;

-- name: bulk_insert_street
INSERT INTO street (generation_id, code, name, district_code, geom)
SELECT :g, code, name, NULLIF(parent_code, ''), ST_GeomFromWKB(decode(wkb, 'hex'), 4326)
FROM boundaries_bulk WHERE level = 'street' ORDER BY ord;

-- name: bulk_insert_community
INSERT INTO community (generation_id, code, name, street_code, geom)
SELECT :g, code, name, NULLIF(parent_code, ''), ST_GeomFromWKB(decode(wkb, 'hex'), 4326)
FROM boundaries_bulk WHERE level = 'community' ORDER BY ord;

-- name: bulk_insert_grid
INSERT INTO grid (generation_id, code, name, community_code, kind, geom)
SELECT :g, code, name, NULLIF(parent_code, ''), COALESCE(NULLIF(kind, ''), 'basic'),
       ST_GeomFromWKB(decode(wkb, 'hex'), 4326)
FROM boundaries_bulk WHERE level = 'grid' ORDER BY ord;

-- name: bulk_insert_unit
INSERT INTO unit (generation_id, code, name, grid_code, geom)
SELECT :g, code, name, NULLIF(parent_code, ''), ST_GeomFromWKB(decode(wkb, 'hex'), 4326)
FROM boundaries_bulk WHERE level = 'unit' ORDER BY ord;

-- The per-row piece triggers (area_piece_sync) switched off for one transaction (ALTER TABLE
-- ... DISABLE TRIGGER is transactional) and the pieces written set-based instead.

-- name: pieces_off_grid
ALTER TABLE grid DISABLE TRIGGER grid_piece_sync;

-- name: pieces_off_unit
ALTER TABLE unit DISABLE TRIGGER unit_piece_sync;

-- name: pieces_on_grid
ALTER TABLE grid ENABLE TRIGGER grid_piece_sync;

-- name: pieces_on_unit
ALTER TABLE unit ENABLE TRIGGER unit_piece_sync;

-- name: pieces_insert_grid
-- Exactly what the trigger writes, for the whole generation @g at once.
INSERT INTO area_piece (generation_id, level, area_id, code, geom)
SELECT a.generation_id, 'grid', a.id, a.code, p.geom FROM grid a,
LATERAL ST_Subdivide(a.geom, 128) AS s(geom), LATERAL ST_Dump(s.geom) AS p
WHERE a.generation_id = :g AND GeometryType(p.geom) = 'POLYGON'
ORDER BY a.id;

-- name: pieces_insert_unit
INSERT INTO area_piece (generation_id, level, area_id, code, geom)
SELECT a.generation_id, 'unit', a.id, a.code, p.geom FROM unit a,
LATERAL ST_Subdivide(a.geom, 128) AS s(geom), LATERAL ST_Dump(s.geom) AS p
WHERE a.generation_id = :g AND GeometryType(p.geom) = 'POLYGON'
ORDER BY a.id;

-- name: analyze_territory
-- Fresh statistics after a store, so the planner sees the new generation's size.
ANALYZE district, street, community, grid, unit, area_piece;

-- name: generations_by_codes
-- Every generation with its size and the open events whose CURRENT codes are its own: the
-- grid code, or (outside every grid) the community code. An activation rewrites only the
-- events that move, so the rows they were last located against say little of where they are.
WITH open AS MATERIALIZED (
    SELECT grid_code, community_code, count(*) AS n FROM event
    WHERE status NOT IN ('closed', 'rejected', 'duplicate')
    GROUP BY 1, 2
)
SELECT g.id, g.status, g.created_at, g.activated_at, g.description, g.source,
       (SELECT count(*) FROM community c WHERE c.generation_id = g.id) AS communities,
       (SELECT count(*) FROM grid x WHERE x.generation_id = g.id) AS grids,
       (SELECT count(*) FROM unit u WHERE u.generation_id = g.id) AS units,
       (SELECT coalesce(sum(o.n), 0)::bigint FROM open o
        WHERE (o.grid_code IS NOT NULL AND EXISTS (
                   SELECT 1 FROM grid x WHERE x.generation_id = g.id AND x.code = o.grid_code))
           OR (o.grid_code IS NULL AND EXISTS (
                   SELECT 1 FROM community c
                   WHERE c.generation_id = g.id AND c.code = o.community_code))) AS open_events
FROM generation g ORDER BY g.id;

-- name: recut_buildings
-- The buildings a re-cut of units draws from (boundaries/recut.py), as the ETL loads them.
SELECT b.id, b.source, b.source_id, coalesce(b.floors, 1) AS floors,
       ST_AsBinary(b.geom) AS wkb, ST_X(b.point) AS lon, ST_Y(b.point) AS lat
FROM building b
WHERE b.geom && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)
  AND b.point && ST_MakeEnvelope(:minx, :miny, :maxx, :maxy, 4326)
ORDER BY b.source, b.source_id;

-- name: unit_codes_ever_used
-- Every unit code ever given in the grids @g (retired generations too): never given again.
SELECT code FROM area WHERE level = 'unit' AND left(code, length(code) - 3) = ANY(:g);
