-- name: unit_visits
-- Every unit of the active generation (under @area) with the workers whose tracks passed
-- within @d metres of it during [@since, @until) (tracks clipped to the period by their M time).
WITH gen AS (SELECT id FROM generation WHERE status = 'active'),
t AS (
    SELECT p.worker_id,
           ST_Force2D(ST_LocateBetween(p.geom, extract(epoch FROM CAST(:since AS timestamptz)),
                                       extract(epoch FROM CAST(:until AS timestamptz)))) AS g
    FROM patrol_track p
    WHERE p.started_at < :until AND p.ended_at >= :since
)
SELECT u.code AS unit, u.grid_code,
       COALESCE(array_agg(DISTINCT t.worker_id) FILTER (WHERE t.worker_id IS NOT NULL),
                CAST('{}' AS bigint[])) AS workers
FROM unit u JOIN gen ON u.generation_id = gen.id
LEFT JOIN t ON NOT ST_IsEmpty(t.g) AND ST_DWithin(t.g::geography, u.geom::geography, :d)
WHERE CAST(:area AS text) IS NULL OR starts_with(u.grid_code, :area)
GROUP BY u.code, u.grid_code
ORDER BY u.code;
-- name: unit_last_visit
-- Units of the active generation under @area whose last visit (the M time of the track at
-- its closest approach) is before @cutoff, or that were never visited.
WITH gen AS (SELECT id FROM generation WHERE status = 'active')
SELECT u.code AS unit, u.grid_code, lv.last_visit
FROM unit u JOIN gen ON u.generation_id = gen.id
LEFT JOIN LATERAL (
    SELECT max(to_timestamp(ST_InterpolatePoint(p.geom,
               ST_ClosestPoint(ST_Force2D(p.geom), u.geom)))) AS last_visit
    FROM patrol_track p
    WHERE p.started_at <= :now AND ST_DWithin(ST_Force2D(p.geom)::geography, u.geom::geography, :d)
) lv ON true
WHERE (CAST(:area AS text) IS NULL OR starts_with(u.grid_code, :area))
  AND (lv.last_visit IS NULL OR lv.last_visit < :cutoff)
ORDER BY u.grid_code, u.code;
-- name: responsible
-- The worker who answers for each grid at @at: the full-time worker, else the grid leader.
WITH gen AS (SELECT id FROM generation WHERE status = 'active')
SELECT DISTINCT ON (g.code) g.code AS grid_code, w.id AS worker_id, w.code AS worker, r.role,
       COALESCE(d.patrols_per_day, :default_duty) AS duty
FROM grid g JOIN gen ON g.generation_id = gen.id
JOIN grid_role r ON r.area_code = g.code AND r.role IN ('full_time', 'grid_leader')
     AND r.valid_from <= :at AND (r.valid_to IS NULL OR r.valid_to > :at)
JOIN worker w ON w.id = r.worker_id AND w.active
LEFT JOIN patrol_duty d ON d.grid_code = g.code
WHERE CAST(:area AS text) IS NULL OR starts_with(g.code, :area)
ORDER BY g.code, (r.role = 'full_time') DESC, r.valid_from, w.code;
-- name: patrols_done
-- Tracks per (worker, main grid) started in [@since, @until).
SELECT worker_id, grid_code, count(*) AS n FROM patrol_track
WHERE started_at >= :since AND started_at < :until AND grid_code IS NOT NULL
GROUP BY worker_id, grid_code;
