-- name: unit_visits
-- Every unit of the active generation (in_scope of the prefixes @area, NULL = all) with the
-- workers whose tracks passed within @d metres of it during [@since, @until) (tracks clipped
-- to the period by their M time). The tracks overlapping the period are found by their span
-- (index patrol_track_span, migration 0016; the same rows as the two conditions beside it).
-- A track indexed for the active generation and @d (patrol_visit, migration 0014) whose M
-- times all lie in the period is read from its visit rows. Any other track goes the set-based
-- way: each clipped track is cut into segments (and lone points); each piece probes the
-- unit GiST index with its box grown by a little more than @d in degrees; a pair is then
-- decided in a local metric plane when it is clearly inside or clearly outside @d, and by the
-- exact geography ST_DWithin otherwise (the same answer as geography ST_DWithin for every pair).
-- @d0, @d1 (dates, NULL = none): the tracks counted in patrol_unit_day for the days
-- [@d0, @d1) (migration 0016) are left out, for day_coverage to read from there.
-- @visited_only: only the units some track passed.
WITH gen AS (SELECT id FROM generation WHERE status = 'active'),
whole AS (
    SELECT x.track_id,
           COALESCE(x.day >= CAST(:d0 AS date) AND x.day < CAST(:d1 AS date), false) AS counted
    FROM patrol_track_indexed x
    WHERE x.generation_id = (SELECT id FROM gen) AND x.distance_m = CAST(:d AS float8)
      AND x.mmin >= CAST(extract(epoch FROM CAST(:since AS timestamptz)) AS float8)
      AND x.mmax <= CAST(extract(epoch FROM CAST(:until AS timestamptz)) AS float8)
),
fast AS (
    SELECT DISTINCT v.unit_id, v.worker_id
    FROM patrol_visit v JOIN whole ON whole.track_id = v.track_id AND NOT whole.counted
    JOIN patrol_track p ON p.id = v.track_id
    WHERE p.started_at < :until AND p.ended_at >= :since
),
t AS MATERIALIZED (
    SELECT p.id AS track_id, p.worker_id,
           ST_Force2D(ST_LocateBetween(p.geom, extract(epoch FROM CAST(:since AS timestamptz)),
                                       extract(epoch FROM CAST(:until AS timestamptz)))) AS g
    FROM patrol_track p
    WHERE p.started_at < :until AND p.ended_at >= :since
      AND tstzrange(p.started_at, p.ended_at, '[]')
          && tstzrange(CAST(:since AS timestamptz), CAST(:until AS timestamptz), '[)')
      AND NOT EXISTS (SELECT 1 FROM whole WHERE whole.track_id = p.id)
),
part AS (
    SELECT t.track_id, t.worker_id, d.geom AS g
    FROM t, LATERAL ST_Dump(t.g) d
    WHERE NOT ST_IsEmpty(t.g)
),
piece AS (
    SELECT part.track_id, part.worker_id, s.geom AS g
    FROM part, LATERAL ST_DumpSegments(part.g) s
    WHERE GeometryType(part.g) = 'LINESTRING'
    UNION ALL
    SELECT part.track_id, part.worker_id, part.g FROM part WHERE GeometryType(part.g) = 'POINT'
),
seg AS (
    SELECT piece.track_id, piece.worker_id, piece.g, m.lat, m.local,
           111132.954 - 559.822 * cos(2 * m.lat) + 1.175 * cos(4 * m.lat) AS ky,
           111412.84 * cos(m.lat) - 93.5 * cos(3 * m.lat) + 0.118 * cos(5 * m.lat) AS kx,
           CAST(:d AS float8) * 1.1 + 1 AS reach
    FROM piece, LATERAL (
        SELECT radians((ST_YMin(piece.g) + ST_YMax(piece.g)) / 2) AS lat,
               abs(ST_YMin(piece.g) + ST_YMax(piece.g)) / 2 <= 60
               AND greatest(ST_XMax(piece.g) - ST_XMin(piece.g),
                            ST_YMax(piece.g) - ST_YMin(piece.g)) <= 0.01
               AND CAST(:d AS float8) <= 2000 AS local
    ) m
),
cand AS MATERIALIZED (
    SELECT u.id AS unit_id, seg.worker_id, seg.g, seg.local,
           CASE WHEN seg.local THEN ST_Distance(ST_Scale(seg.g, seg.kx, seg.ky),
                                                ST_Scale(u.geom, seg.kx, seg.ky)) END AS pd
    FROM seg JOIN unit u ON u.generation_id = (SELECT id FROM gen)
     AND u.geom && ST_Expand(seg.g,
                             seg.reach / (111319.0 * cos(radians(least(89.9,
                                 greatest(abs(ST_YMin(seg.g)), abs(ST_YMax(seg.g)))
                                 + seg.reach / 110574.0)))),
                             seg.reach / 110574.0)
    WHERE in_scope(u.grid_code, CAST(:area AS text[]))
),
near AS (
    SELECT DISTINCT cand.unit_id, cand.worker_id FROM cand
    WHERE CASE WHEN cand.local AND cand.pd <= CAST(:d AS float8) * 0.99 - 0.5 THEN true
               WHEN cand.local AND cand.pd > CAST(:d AS float8) * 1.01 + 0.5 THEN false
               ELSE ST_DWithin(cand.g::geography,
                               (SELECT u.geom FROM unit u WHERE u.id = cand.unit_id)::geography,
                               :d) END
    UNION ALL
    SELECT fast.unit_id, fast.worker_id FROM fast
)
-- the units and their visits grouped together (no join for the planner to misjudge); the
-- visits of units outside @area have no unit row and are left out
SELECT max(r.code) AS unit, max(r.grid_code) AS grid_code,
       COALESCE(array_agg(DISTINCT r.worker_id) FILTER (WHERE r.worker_id IS NOT NULL),
                CAST('{}' AS bigint[])) AS workers
FROM (SELECT u.id AS unit_id, u.code, u.grid_code, CAST(NULL AS bigint) AS worker_id
      FROM unit u
      WHERE u.generation_id = (SELECT id FROM gen)
        AND in_scope(u.grid_code, CAST(:area AS text[]))
      UNION ALL
      SELECT near.unit_id, NULL, NULL, near.worker_id FROM near) r
GROUP BY r.unit_id
HAVING max(r.code) IS NOT NULL AND (NOT CAST(:visited_only AS boolean) OR count(r.worker_id) > 0)
ORDER BY 1;
-- name: day_coverage
-- Per grid of the active generation (in_scope of @area): its units and those passed within
-- @d metres on the CST days [@d0, @d1) by a track counted in patrol_unit_day (main rows and
-- the changes not folded yet) or listed in @extra (unit codes, the other tracks' visits:
-- unit_visits with @d0, @d1 and @visited_only).
WITH gen AS (SELECT id FROM generation WHERE status = 'active'),
seen AS (
    SELECT s.unit_id FROM (
        SELECT k.unit_id, k.tracks FROM patrol_unit_day k
        WHERE k.day >= CAST(:d0 AS date) AND k.day < CAST(:d1 AS date)
          AND k.distance_m = CAST(:d AS float8)
        UNION ALL
        SELECT k.unit_id, k.tracks FROM patrol_unit_day_delta k
        WHERE k.day >= CAST(:d0 AS date) AND k.day < CAST(:d1 AS date)
          AND k.distance_m = CAST(:d AS float8)
        UNION ALL
        SELECT u.id, 1 FROM unit u
        WHERE u.code = ANY(CAST(:extra AS text[])) AND u.generation_id = (SELECT id FROM gen)
    ) s
    GROUP BY s.unit_id HAVING sum(s.tracks) > 0
)
SELECT u.grid_code AS grid, count(*) AS units, count(seen.unit_id) AS visited
FROM unit u LEFT JOIN seen ON seen.unit_id = u.id
WHERE u.generation_id = (SELECT id FROM gen) AND in_scope(u.grid_code, CAST(:area AS text[]))
GROUP BY u.grid_code
ORDER BY u.grid_code;
-- name: unit_day_compact
-- Fold the per-day visit changes into patrol_unit_day (migration 0016).
SELECT patrol_unit_day_compact();
-- name: unit_last_visit
-- Units of the active generation under @area whose last visit (the M time of the track at
-- its closest approach) is before @cutoff, or that were never visited. The tracks within @d
-- metres of each unit are found as in unit_visits (segments probing the unit index, exact
-- geography where the local plane cannot decide); the closest approach is on the whole track.
WITH gen AS (SELECT id FROM generation WHERE status = 'active'),
p AS (SELECT id, geom FROM patrol_track WHERE started_at <= :now),
span AS (
    SELECT p.id AS track_id, min(ST_M(d.geom)) AS mmin, max(ST_M(d.geom)) AS mmax
    FROM p, LATERAL ST_DumpPoints(p.geom) d
    GROUP BY p.id
),
seg AS (
    SELECT s.track_id, s.g, m.local,
           111132.954 - 559.822 * cos(2 * m.lat) + 1.175 * cos(4 * m.lat) AS ky,
           111412.84 * cos(m.lat) - 93.5 * cos(3 * m.lat) + 0.118 * cos(5 * m.lat) AS kx,
           CAST(:d AS float8) * 1.1 + 1 AS reach
    FROM (SELECT p.id AS track_id, d.geom AS g
          FROM p, LATERAL ST_DumpSegments(ST_Force2D(p.geom)) d) s,
    LATERAL (
        SELECT radians((ST_YMin(s.g) + ST_YMax(s.g)) / 2) AS lat,
               abs(ST_YMin(s.g) + ST_YMax(s.g)) / 2 <= 60
               AND greatest(ST_XMax(s.g) - ST_XMin(s.g), ST_YMax(s.g) - ST_YMin(s.g)) <= 0.01
               AND CAST(:d AS float8) <= 2000 AS local
    ) m
),
cand AS MATERIALIZED (
    SELECT u.id AS unit_id, seg.track_id, seg.g, seg.local,
           CASE WHEN seg.local THEN ST_Distance(ST_Scale(seg.g, seg.kx, seg.ky),
                                                ST_Scale(u.geom, seg.kx, seg.ky)) END AS pd
    FROM seg JOIN unit u ON u.generation_id = (SELECT id FROM gen)
     AND u.geom && ST_Expand(seg.g,
                             seg.reach / (111319.0 * cos(radians(least(89.9,
                                 greatest(abs(ST_YMin(seg.g)), abs(ST_YMax(seg.g)))
                                 + seg.reach / 110574.0)))),
                             seg.reach / 110574.0)
    WHERE in_scope(u.grid_code, CAST(:area AS text[]))
),
near AS (
    SELECT DISTINCT cand.unit_id, cand.track_id FROM cand
    WHERE CASE WHEN cand.local AND cand.pd <= CAST(:d AS float8) * 0.99 - 0.5 THEN true
               WHEN cand.local AND cand.pd > CAST(:d AS float8) * 1.01 + 0.5 THEN false
               ELSE ST_DWithin(cand.g::geography,
                               (SELECT u.geom FROM unit u WHERE u.id = cand.unit_id)::geography,
                               :d) END
),
bound AS (
    SELECT near.unit_id, near.track_id, span.mmax,
           max(span.mmin) OVER (PARTITION BY near.unit_id) AS floor
    FROM near JOIN span ON span.track_id = near.track_id
),
lv AS (
    SELECT bound.unit_id, max(to_timestamp(ST_InterpolatePoint(p.geom,
               ST_ClosestPoint(ST_Force2D(p.geom), u.geom)))) AS last_visit
    FROM bound JOIN p ON p.id = bound.track_id JOIN unit u ON u.id = bound.unit_id
    WHERE bound.mmax >= bound.floor AND to_timestamp(bound.floor) < :cutoff
    GROUP BY bound.unit_id
),
visited AS (SELECT DISTINCT near.unit_id FROM near)
SELECT u.code AS unit, u.grid_code, lv.last_visit
FROM unit u JOIN gen ON u.generation_id = gen.id
LEFT JOIN visited ON visited.unit_id = u.id
LEFT JOIN lv ON lv.unit_id = u.id
WHERE in_scope(u.grid_code, CAST(:area AS text[]))
  AND (visited.unit_id IS NULL OR lv.last_visit < :cutoff)
ORDER BY u.grid_code, u.code;
-- name: visits_complete
-- Whether every track started by @now is indexed for the active generation and @d (then the
-- visit rows alone answer unit_last_visit_indexed).
SELECT NOT EXISTS (
    SELECT 1 FROM patrol_track p
    WHERE p.started_at <= :now AND NOT EXISTS (
        SELECT 1 FROM patrol_track_indexed x
        WHERE x.track_id = p.id AND x.distance_m = CAST(:d AS float8)
          AND x.generation_id = (SELECT id FROM generation WHERE status = 'active')));
-- name: unit_last_visit_indexed
-- unit_last_visit read from the visit rows (valid when visits_complete): per unit, the latest
-- closest-approach time of the tracks started by @now, one index probe per unit.
WITH gen AS (SELECT id FROM generation WHERE status = 'active')
SELECT u.code AS unit, u.grid_code, lv.last_visit
FROM unit u
LEFT JOIN LATERAL (
    SELECT v.visit_at AS last_visit FROM patrol_visit v
    WHERE v.unit_id = u.id AND v.started_at <= :now
    ORDER BY v.visit_at DESC LIMIT 1
) lv ON true
WHERE u.generation_id = (SELECT id FROM gen) AND in_scope(u.grid_code, CAST(:area AS text[]))
  AND (lv.last_visit IS NULL OR lv.last_visit < :cutoff)
ORDER BY u.grid_code, u.code;
-- name: set_visit_distance
-- The distance (m) tracks are indexed with from now on.
INSERT INTO patrol_visit_setting (one, distance_m) VALUES (true, :d)
ON CONFLICT (one) DO UPDATE SET distance_m = :d;
-- name: tracks_to_index
-- Tracks not indexed for the active generation and @d with id % @parts = @part, after id
-- @after, up to @limit, oldest id first.
SELECT p.id FROM patrol_track p
WHERE NOT EXISTS (
    SELECT 1 FROM patrol_track_indexed x
    WHERE x.track_id = p.id AND x.distance_m = CAST(:d AS float8)
      AND x.generation_id = (SELECT id FROM generation WHERE status = 'active'))
  AND p.id > :after AND p.id % :parts = :part
ORDER BY p.id LIMIT :limit;
-- name: index_tracks
-- (Re)index the tracks @ids (patrol_index_track, migration 0014).
SELECT sum(patrol_index_track(i)) FROM unnest(CAST(:ids AS bigint[])) i;
-- name: responsible
-- The worker who answers for each grid at @at (responsible_worker, migration 0020: as the
-- locator and the activation choose); grids without one are left out.
WITH gen AS (SELECT id FROM generation WHERE status = 'active')
SELECT g.code AS grid_code, rw.worker_id, rw.worker_code AS worker, rw.role,
       COALESCE(d.patrols_per_day, :default_duty) AS duty
FROM grid g JOIN gen ON g.generation_id = gen.id
CROSS JOIN LATERAL responsible_worker(g.code, CAST(:at AS timestamptz)) rw
LEFT JOIN patrol_duty d ON d.grid_code = g.code
WHERE in_scope(g.code, CAST(:area AS text[]))
ORDER BY g.code;
-- name: patrols_done
-- Tracks per (worker, main grid) started in [@since, @until).
SELECT worker_id, grid_code, count(*) AS n FROM patrol_track
WHERE started_at >= :since AND started_at < :until AND grid_code IS NOT NULL
GROUP BY worker_id, grid_code;
-- name: unit_places
-- Units of the active generation among the codes @codes: name, grid and a point inside each
-- (WGS84): its centroid, or a point on its surface when the centroid falls outside it.
WITH gen AS (SELECT id FROM generation WHERE status = 'active')
SELECT u.code AS unit, u.name, u.grid_code, ST_X(p.pt) AS lon, ST_Y(p.pt) AS lat
FROM unit u JOIN gen ON u.generation_id = gen.id,
LATERAL (SELECT CASE WHEN ST_Intersects(ST_Centroid(u.geom), u.geom) THEN ST_Centroid(u.geom)
                     ELSE ST_PointOnSurface(u.geom) END AS pt) p
WHERE u.code = ANY(CAST(:codes AS text[]));
-- name: worker_id
SELECT id FROM worker WHERE code = :c;
-- name: area_level
SELECT level FROM area WHERE code = :c;
-- name: set_duty
-- A grid's daily patrol duty (@n patrols a day).
INSERT INTO patrol_duty (grid_code, patrols_per_day) VALUES (:g, :n)
ON CONFLICT (grid_code) DO UPDATE SET patrols_per_day = :n, updated_at = now();
