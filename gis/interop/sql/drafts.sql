-- Editing a draft generation through OGC API – Features Part 4 (grids and units only). The
-- open draft is the newest generation with status 'draft' made for editing (source
-- 'ogc-draft'); the active generation is never written here.

-- name: open_draft
SELECT id FROM generation WHERE status = 'draft' AND source = 'ogc-draft'
ORDER BY id DESC LIMIT 1

-- name: ensure_area
INSERT INTO area (code, level) VALUES (:code, :level) ON CONFLICT (code) DO NOTHING

-- name: area_level
SELECT level FROM area WHERE code = :code

-- name: parent_exists_grid
SELECT EXISTS (SELECT 1 FROM community WHERE generation_id = :g AND code = :parent)

-- name: parent_exists_unit
SELECT EXISTS (SELECT 1 FROM grid WHERE generation_id = :g AND code = :parent)

-- name: insert_grid
INSERT INTO grid (generation_id, code, name, community_code, kind, geom)
VALUES (:g, :code, :name, :parent, :kind, ST_Multi(ST_GeomFromWKB(:wkb, 4326)))
ON CONFLICT (generation_id, code) DO NOTHING
RETURNING code

-- name: insert_unit
INSERT INTO unit (generation_id, code, name, grid_code, geom)
VALUES (:g, :code, :name, :parent, ST_Multi(ST_GeomFromWKB(:wkb, 4326)))
ON CONFLICT (generation_id, code) DO NOTHING
RETURNING code

-- name: replace_grid
UPDATE grid SET name = :name, community_code = :parent, kind = :kind,
       geom = ST_Multi(ST_GeomFromWKB(:wkb, 4326))
WHERE generation_id = :g AND code = :code
RETURNING code

-- name: replace_unit
UPDATE unit SET name = :name, grid_code = :parent, geom = ST_Multi(ST_GeomFromWKB(:wkb, 4326))
WHERE generation_id = :g AND code = :code
RETURNING code

-- name: units_of_grid
SELECT count(*) FROM unit WHERE generation_id = :g AND grid_code = :code

-- name: delete_grid
DELETE FROM grid WHERE generation_id = :g AND code = :code RETURNING code

-- name: delete_unit
DELETE FROM unit WHERE generation_id = :g AND code = :code RETURNING code

-- name: discard_draft
UPDATE generation SET status = 'discarded' WHERE id = :g AND status = 'draft'
