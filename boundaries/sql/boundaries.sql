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
SELECT r.area_code, w.code, r.role FROM grid_role r JOIN worker w ON w.id = r.worker_id
WHERE r.area_code = ANY(:codes) AND w.active
  AND r.valid_from <= now() AND (r.valid_to IS NULL OR now() < r.valid_to)
ORDER BY r.area_code, (r.role <> 'full_time'), r.valid_from DESC, w.code;

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

