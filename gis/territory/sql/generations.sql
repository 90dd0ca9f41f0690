-- Writing the territory: new generations and their district → unit boundaries.
-- The insert_* statements are psycopg2 execute_values templates: one VALUES list per page.

-- name: create_generation
INSERT INTO generation (description, source) VALUES (:d, :s) RETURNING id;

-- name: lock_generations
LOCK TABLE generation IN SHARE ROW EXCLUSIVE MODE;

-- name: insert_area_codes
INSERT INTO area (code, level) VALUES %s ON CONFLICT (code) DO NOTHING;

-- name: insert_district
INSERT INTO district (generation_id, code, name, geom) VALUES %s;

-- name: insert_street
INSERT INTO street (generation_id, code, name, district_code, geom) VALUES %s;

-- name: insert_community
INSERT INTO community (generation_id, code, name, street_code, geom) VALUES %s;

-- name: insert_grid
INSERT INTO grid (generation_id, code, name, community_code, kind, geom) VALUES %s;

-- name: insert_unit
INSERT INTO unit (generation_id, code, name, grid_code, geom) VALUES %s;

-- name: copy_district
-- Copy one level's boundaries of generation @s into generation @t (partial re-imports).
INSERT INTO district (generation_id, code, name, geom)
SELECT :t, code, name, geom FROM district WHERE generation_id = :s;

-- name: copy_street
INSERT INTO street (generation_id, code, name, district_code, geom)
SELECT :t, code, name, district_code, geom FROM street WHERE generation_id = :s;

-- name: copy_community
INSERT INTO community (generation_id, code, name, street_code, geom)
SELECT :t, code, name, street_code, geom FROM community WHERE generation_id = :s;

-- name: copy_grid
INSERT INTO grid (generation_id, code, name, community_code, kind, geom)
SELECT :t, code, name, community_code, kind, geom FROM grid WHERE generation_id = :s;

-- name: copy_unit
INSERT INTO unit (generation_id, code, name, grid_code, geom)
SELECT :t, code, name, grid_code, geom FROM unit WHERE generation_id = :s;
