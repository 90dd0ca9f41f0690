-- Boundary suggestions (boundaries/suggest.py): the active units with their grid and community,
-- and what each unit asked of its workers in a period [@since, @until): events reported,
-- patrol track length inside it, buildings and floor area.

-- name: suggest_units
-- The active units of the communities @communities (NULL: all), with their grid's kind.
SELECT u.code, u.name, u.grid_code, g.community_code, g.kind, g.name AS grid_name,
       ST_AsBinary(u.geom) AS wkb
FROM unit u
JOIN grid g ON g.generation_id = u.generation_id AND g.code = u.grid_code
WHERE u.generation_id = (SELECT id FROM generation WHERE status = 'active')
  AND (CAST(:communities AS text[]) IS NULL
       OR g.community_code = ANY(CAST(:communities AS text[])))
ORDER BY g.community_code, u.grid_code, u.code;

-- name: suggest_grids
-- The active grids of the communities @communities (NULL: all): code, name, kind, geometry.
SELECT g.code, g.name, g.community_code, g.kind, ST_AsBinary(g.geom) AS wkb
FROM grid g
WHERE g.generation_id = (SELECT id FROM generation WHERE status = 'active')
  AND (CAST(:communities AS text[]) IS NULL
       OR g.community_code = ANY(CAST(:communities AS text[])))
ORDER BY g.code;

-- name: suggest_communities
-- Which of the codes @codes are communities of the active generation.
SELECT c.code FROM community c
WHERE c.generation_id = (SELECT id FROM generation WHERE status = 'active')
  AND c.code = ANY(CAST(:codes AS text[]));

-- name: suggest_events
-- Events reported in the period per active unit: by the unit code they carry when it is a
-- unit of the active generation, else by the unit holding their point.
WITH gen AS (SELECT id FROM generation WHERE status = 'active'),
ev AS (
    SELECT e.unit_code, e.geom FROM event e
    WHERE e.reported_at >= :since AND e.reported_at < :until
      AND e.status NOT IN ('rejected', 'duplicate')
),
placed AS (
    SELECT coalesce(
        (SELECT u.code FROM unit u, gen
         WHERE u.generation_id = gen.id AND u.code = ev.unit_code),
        (SELECT u.code FROM unit u, gen
         WHERE ev.geom IS NOT NULL AND u.generation_id = gen.id AND u.geom && ev.geom
           AND ST_Intersects(u.geom, ev.geom) ORDER BY u.code LIMIT 1)) AS unit
    FROM ev
)
SELECT unit, count(*) AS n FROM placed WHERE unit IS NOT NULL GROUP BY unit;

-- name: suggest_patrol
-- Patrol track length (metres) inside each active unit in the period, the tracks clipped to
-- the period by their M time (epoch seconds of each fix).
WITH gen AS (SELECT id FROM generation WHERE status = 'active'),
t AS (
    SELECT ST_CollectionExtract(ST_Force2D(ST_LocateBetween(
               p.geom, extract(epoch FROM CAST(:since AS timestamptz)),
               extract(epoch FROM CAST(:until AS timestamptz)))), 2) AS g
    FROM patrol_track p
    WHERE p.started_at < :until AND p.ended_at >= :since
)
SELECT u.code AS unit, sum(ST_Length(ST_Intersection(u.geom, t.g)::geography)) AS m
FROM t JOIN unit u ON u.generation_id = (SELECT id FROM gen) AND u.geom && t.g
WHERE NOT ST_IsEmpty(t.g) AND ST_Intersects(u.geom, t.g)
GROUP BY u.code;

-- name: suggest_buildings
-- Buildings per active unit (by their point) and their floor area: footprint × floors, the
-- floors of a building without them taken as the median of the known ones (else 1).
WITH gen AS (SELECT id FROM generation WHERE status = 'active'),
med AS (
    SELECT coalesce(percentile_cont(0.5) WITHIN GROUP (ORDER BY floors), 1) AS f
    FROM building WHERE floors > 0
)
SELECT u.code AS unit, count(*) AS n, count(*) FILTER (WHERE coalesce(b.floors, 0) = 0) AS imputed,
       sum(ST_Area(b.geom::geography) * coalesce(nullif(b.floors, 0), med.f)) AS floor_m2,
       max(med.f) AS median_floors
FROM unit u
JOIN building b ON b.point && u.geom AND ST_Intersects(u.geom, b.point)
CROSS JOIN med
WHERE u.generation_id = (SELECT id FROM gen)
GROUP BY u.code;

-- name: suggest_grid_codes_used
-- Every grid code ever given under the communities @communities (never given again).
SELECT code FROM area WHERE level = 'grid'
  AND left(code, length(code) - 3) = ANY(CAST(:communities AS text[]));
