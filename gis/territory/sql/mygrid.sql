-- name: grids
-- Active grids of a caller: with @held (a grid worker's grid and unit codes) the grids those
-- codes lie in (codes nest: a unit's code starts with its grid's); otherwise the grids within
-- @prefixes (the area-scope rule; NULL: every grid).
SELECT g.code, g.name, g.kind, g.community_code, ST_AsGeoJSON(g.geom, 7)::json AS geometry
FROM grid g
JOIN generation gen ON gen.id = g.generation_id AND gen.status = 'active'
WHERE CASE WHEN CAST(:held AS text[]) IS NOT NULL
           THEN EXISTS (SELECT 1 FROM unnest(CAST(:held AS text[])) AS a(code)
                        WHERE in_scope(a.code, ARRAY[g.code]))
           ELSE in_scope(g.code, CAST(:prefixes AS text[])) END
ORDER BY g.code;
-- name: units
-- Active minimal units of grids @grids, each with the number of buildings whose point lies
-- in it.
SELECT u.code, u.name, u.grid_code,
       (SELECT count(*) FROM building b WHERE ST_Intersects(u.geom, b.point)) AS buildings,
       ST_AsGeoJSON(u.geom, 7)::json AS geometry
FROM unit u
JOIN generation gen ON gen.id = u.generation_id AND gen.status = 'active'
WHERE u.grid_code = ANY(CAST(:grids AS text[]))
ORDER BY u.code;
-- name: buildings
-- Buildings whose point lies in one of the active grids @grids, at most @limit of them.
SELECT b.id, b.name, b.address, b.floors, ST_AsGeoJSON(b.geom, 7)::json AS geometry
FROM building b
WHERE EXISTS (SELECT 1 FROM grid g
              JOIN generation gen ON gen.id = g.generation_id AND gen.status = 'active'
              WHERE g.code = ANY(CAST(:grids AS text[])) AND ST_Intersects(g.geom, b.point))
ORDER BY b.id
LIMIT :limit;
-- name: worker_name
-- The name of worker @w (no row: unknown).
SELECT name FROM worker WHERE code = :w;
