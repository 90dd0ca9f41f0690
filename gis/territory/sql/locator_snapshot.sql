-- name: generation
SELECT g.id, s.revision FROM territory_state s LEFT JOIN generation g ON g.status = 'active';
-- name: grids
SELECT g.id, g.code, g.name, g.kind, g.community_code, c.street_code, s.district_code,
       ST_AsBinary(g.geom) AS wkb
FROM grid g
JOIN community c ON c.generation_id = g.generation_id AND c.code = g.community_code
JOIN street s ON s.generation_id = g.generation_id AND s.code = c.street_code
WHERE g.generation_id = :generation
ORDER BY g.code;
-- name: units
SELECT u.id, u.code, u.grid_code, ST_AsBinary(u.geom) AS wkb
FROM unit u WHERE u.generation_id = :generation ORDER BY u.code;
-- name: roles
-- Every grid's candidates in precedence order (grid_responsibility, migration 0020): the
-- responsible worker at a time is the first one valid then.
SELECT grid_code AS area_code, valid_from, valid_to, worker_id, worker_code, worker_name
FROM grid_responsibility ORDER BY grid_code, precedence;
-- name: fingerprint
-- Changes whenever a grid or unit row of the generation is written (a draft being edited):
-- a snapshot built ahead is used only while it is the same.
SELECT (SELECT count(*) || ':' || coalesce(sum(CAST(CAST(xmin AS text) AS bigint)), 0)
        FROM grid WHERE generation_id = :generation)
       || '/' || (SELECT count(*) || ':' || coalesce(sum(CAST(CAST(xmin AS text) AS bigint)), 0)
                  FROM unit WHERE generation_id = :generation);
-- name: revision
SELECT revision FROM territory_state WHERE id = 1;
-- name: building_point
SELECT id, ST_X(point) AS lon, ST_Y(point) AS lat FROM building WHERE id = :building_id;
-- name: building_by_source_id
SELECT id, ST_X(point) AS lon, ST_Y(point) AS lat FROM building
WHERE source_id = :source_id ORDER BY id LIMIT 2;
-- name: address_point
SELECT id, ST_X(point) AS lon, ST_Y(point) AS lat FROM building
WHERE lower(address) = lower(:address) ORDER BY id LIMIT 2;
-- name: listen
-- The territory revision trigger (migration 001) NOTIFYs this channel.
LISTEN wangge_territory;
