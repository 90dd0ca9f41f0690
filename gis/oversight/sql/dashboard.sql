-- Queries of the commanders' live map (dashboard/). Events are filtered the same way
-- everywhere: time window, class, status, area code prefix (street/community/grid), overdue,
-- and the viewer's scope. @area (the chosen area) and @scope_prefixes (what the viewer may
-- see) are prefix arrays of the one scope rule, in_scope (migration 0006); NULL = everything.

-- name: ping
SELECT 1;

-- name: extent
SELECT ST_XMin(x) AS minlon, ST_YMin(x) AS minlat, ST_XMax(x) AS maxlon, ST_YMax(x) AS maxlat,
       gen.id AS generation
FROM generation gen
CROSS JOIN LATERAL (SELECT ST_Extent(g.geom) AS x FROM grid g WHERE g.generation_id = gen.id
                      AND in_scope(g.code, CAST(:scope_prefixes AS text[]))) e
WHERE gen.status = 'active';

-- name: options_areas
SELECT 'street' AS level, s.code, s.name, s.district_code AS parent FROM street s
JOIN generation gen ON gen.id = s.generation_id AND gen.status = 'active'
UNION ALL
SELECT 'community', c.code, c.name, c.street_code FROM community c
JOIN generation gen ON gen.id = c.generation_id AND gen.status = 'active'
UNION ALL
SELECT 'grid', g.code, g.name, g.community_code FROM grid g
JOIN generation gen ON gen.id = g.generation_id AND gen.status = 'active'
ORDER BY 1, 2;

-- name: options_classes
SELECT code, name, name_zh FROM event_class c
WHERE EXISTS (SELECT 1 FROM event_item i WHERE i.class_code = c.code AND i.active)
ORDER BY position, code;

-- name: grids
SELECT g.code, g.name, g.kind, g.community_code, c.name AS community_name, c.street_code,
       s.name AS street_name, resp.worker_code, resp.worker_name, resp.role,
       ST_AsGeoJSON(g.geom, 5) AS geometry
FROM grid g
JOIN generation gen ON gen.id = g.generation_id AND gen.status = 'active'
JOIN community c ON c.generation_id = g.generation_id AND c.code = g.community_code
JOIN street s ON s.generation_id = g.generation_id AND s.code = c.street_code
LEFT JOIN LATERAL responsible_worker(g.code, now()) resp ON true
WHERE in_scope(g.code, CAST(:scope_prefixes AS text[]))
ORDER BY g.code;

-- name: units
-- @tol (degrees, about half a screen pixel; 0 = exact) drops vertices no one can see.
SELECT u.code, u.name, u.grid_code,
       ST_AsGeoJSON(ST_SimplifyPreserveTopology(u.geom, :tol), 5) AS geometry
FROM unit u
JOIN generation gen ON gen.id = u.generation_id AND gen.status = 'active'
WHERE u.geom && ST_MakeEnvelope(:minlon, :minlat, :maxlon, :maxlat, 4326)
  AND in_scope(u.grid_code, CAST(:scope_prefixes AS text[]))
ORDER BY u.code
LIMIT :limit;

-- name: event_bins
SELECT floor(ST_X(e.geom) / :cellx)::bigint AS ix, floor(ST_Y(e.geom) / :celly)::bigint AS iy,
       count(*) AS n,
       count(*) FILTER (WHERE e.status = ANY(CAST(:open AS text[]))) AS n_open
FROM event e
WHERE e.geom && ST_MakeEnvelope(:minlon, :minlat, :maxlon, :maxlat, 4326)
  AND e.reported_at >= :since AND e.reported_at < :until
  AND (CAST(:classes AS text[]) IS NULL OR e.item_code IN (
        SELECT i.code FROM event_item i WHERE i.class_code = ANY(CAST(:classes AS text[]))))
  AND (CAST(:statuses AS text[]) IS NULL OR e.status = ANY(CAST(:statuses AS text[])))
  AND in_scope(e.grid_code, CAST(:area AS text[]))
  AND in_scope(e.grid_code, CAST(:scope_prefixes AS text[]))
  AND (NOT :overdue OR (e.status = ANY(CAST(:open AS text[])) AND e.due_at < now()))
GROUP BY 1, 2;

-- name: event_summary
SELECT count(*) AS total,
       count(*) FILTER (WHERE e.status = ANY(CAST(:open AS text[]))) AS open,
       count(*) FILTER (WHERE e.status = ANY(CAST(:open AS text[])) AND e.due_at < now())
           AS overdue,
       max(e.id) AS last_id
FROM event e
WHERE e.reported_at >= :since AND e.reported_at < :until
  AND (CAST(:classes AS text[]) IS NULL OR e.item_code IN (
        SELECT i.code FROM event_item i WHERE i.class_code = ANY(CAST(:classes AS text[]))))
  AND (CAST(:statuses AS text[]) IS NULL OR e.status = ANY(CAST(:statuses AS text[])))
  AND in_scope(e.grid_code, CAST(:area AS text[]))
  AND in_scope(e.grid_code, CAST(:scope_prefixes AS text[]))
  AND (NOT :overdue OR (e.status = ANY(CAST(:open AS text[])) AND e.due_at < now()));

-- name: events
SELECT e.id, e.item_code, i.name AS item_name, i.name_zh AS item_name_zh, i.class_code,
       e.source, e.status, e.level, e.reported_at, e.due_at, e.grid_code, e.unit_code,
       e.description, e.address, ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat,
       (e.status = ANY(CAST(:open AS text[])) AND e.due_at < now()) AS overdue
FROM event e JOIN event_item i ON i.code = e.item_code
WHERE e.geom IS NOT NULL
  AND (CAST(:minlon AS float8) IS NULL
       OR e.geom && ST_MakeEnvelope(:minlon, :minlat, :maxlon, :maxlat, 4326))
  AND e.reported_at >= :since AND e.reported_at < :until
  AND (CAST(:classes AS text[]) IS NULL OR i.class_code = ANY(CAST(:classes AS text[])))
  AND (CAST(:statuses AS text[]) IS NULL OR e.status = ANY(CAST(:statuses AS text[])))
  AND in_scope(e.grid_code, CAST(:area AS text[]))
  AND in_scope(e.grid_code, CAST(:scope_prefixes AS text[]))
  AND (NOT :overdue OR (e.status = ANY(CAST(:open AS text[])) AND e.due_at < now()))
ORDER BY e.reported_at DESC, e.id DESC
LIMIT :limit;

-- name: overdue_events
-- Open events past their time limit (the backlog: whatever their report date), most late
-- first, with the assigned worker; class, status, chosen area and the viewer's scope filter
-- as in the other event queries.
SELECT e.id, e.item_code, i.name AS item_name, i.name_zh AS item_name_zh, e.grid_code,
       e.due_at, extract(epoch FROM now() - e.due_at) / 3600.0 AS hours_late, e.level,
       e.status, w.code AS worker_code, w.name AS worker_name
FROM event e JOIN event_item i ON i.code = e.item_code
LEFT JOIN worker w ON w.id = e.worker_id
WHERE e.status = ANY(CAST(:open AS text[])) AND e.due_at < now()
  AND (CAST(:classes AS text[]) IS NULL OR i.class_code = ANY(CAST(:classes AS text[])))
  AND (CAST(:statuses AS text[]) IS NULL OR e.status = ANY(CAST(:statuses AS text[])))
  AND in_scope(e.grid_code, CAST(:area AS text[]))
  AND in_scope(e.grid_code, CAST(:scope_prefixes AS text[]))
ORDER BY e.due_at, e.id
LIMIT :limit;

-- name: cameras_in_view
-- A camera has no area code: it lies in the viewer's area when it stands in an active grid of
-- @scope_prefixes (the one scope rule, in_scope, on the grid's code); NULL = every camera.
SELECT c.code, c.name, c.kind, c.status, c.direction_deg, ST_X(c.geom) AS lon, ST_Y(c.geom) AS lat
FROM camera c
WHERE c.geom && ST_MakeEnvelope(:minlon, :minlat, :maxlon, :maxlat, 4326)
  AND (CAST(:scope_prefixes AS text[]) IS NULL OR EXISTS (
        SELECT 1 FROM grid g JOIN generation gen ON gen.id = g.generation_id
                                                 AND gen.status = 'active'
        WHERE g.geom && c.geom AND ST_Intersects(g.geom, c.geom)
          AND in_scope(g.code, CAST(:scope_prefixes AS text[]))))
ORDER BY c.code
LIMIT :limit;

-- name: camera_clusters
-- Cameras in view counted in square cells of @cellx x @celly degrees (sized to the zoom):
-- count, offline count (anything not online) and the centroid of each cell's cameras; only
-- the cameras in the viewer's area (as cameras_in_view).
SELECT floor(ST_X(c.geom) / :cellx)::bigint AS ix, floor(ST_Y(c.geom) / :celly)::bigint AS iy,
       count(*) AS n, count(*) FILTER (WHERE c.status <> 'online') AS n_offline,
       avg(ST_X(c.geom)) AS lon, avg(ST_Y(c.geom)) AS lat, min(c.code) AS first_code
FROM camera c
WHERE c.geom && ST_MakeEnvelope(:minlon, :minlat, :maxlon, :maxlat, 4326)
  AND (CAST(:scope_prefixes AS text[]) IS NULL OR EXISTS (
        SELECT 1 FROM grid g JOIN generation gen ON gen.id = g.generation_id
                                                 AND gen.status = 'active'
        WHERE g.geom && c.geom AND ST_Intersects(g.geom, c.geom)
          AND in_scope(g.code, CAST(:scope_prefixes AS text[]))))
GROUP BY 1, 2
ORDER BY 1, 2;

-- name: cameras_near_event
WITH ev AS (SELECT geom FROM event WHERE id = :id AND geom IS NOT NULL)
SELECT c.code, c.name, c.kind, c.status, c.direction_deg, ST_X(c.geom) AS lon,
       ST_Y(c.geom) AS lat, round(ST_Distance(c.geom::geography, ev.geom::geography)::numeric, 1) AS distance_m
FROM camera c, ev
WHERE c.geom && ST_Expand(ev.geom, :deg)
  AND ST_DWithin(c.geom::geography, ev.geom::geography, :radius)
  AND (CAST(:scope_prefixes AS text[]) IS NULL OR EXISTS (
        SELECT 1 FROM grid g JOIN generation gen ON gen.id = g.generation_id
                                                 AND gen.status = 'active'
        WHERE g.geom && c.geom AND ST_Intersects(g.geom, c.geom)
          AND in_scope(g.code, CAST(:scope_prefixes AS text[]))))
ORDER BY distance_m, c.code
LIMIT :limit;

-- name: patrol_coverage
-- Share of each grid's units passed within @radius metres by a track of the period. Each track
-- is buffered once (geography buffer: metres anywhere), then units are tested with indexed,
-- planar ST_Intersects (same answer as a per-unit geography ST_DWithin, ~30x faster).
WITH tracks AS MATERIALIZED (
    SELECT ST_Buffer(ST_Force2D(t.geom)::geography, :radius)::geometry AS geom
    FROM patrol_track t
    WHERE t.ended_at >= :since AND t.started_at < :until
), u AS (
    SELECT u.grid_code,
           EXISTS (SELECT 1 FROM tracks t
                   WHERE t.geom && u.geom AND ST_Intersects(u.geom, t.geom)) AS passed
    FROM unit u JOIN generation gen ON gen.id = u.generation_id AND gen.status = 'active'
)
SELECT grid_code, count(*) AS units, count(*) FILTER (WHERE passed) AS covered
FROM u GROUP BY grid_code ORDER BY grid_code;

-- name: tracks
SELECT t.id, w.code AS worker_code, w.name AS worker_name, t.grid_code, t.started_at,
       t.ended_at, t.length_m, ST_AsGeoJSON(ST_Force2D(t.geom), 6) AS geometry
FROM patrol_track t JOIN worker w ON w.id = t.worker_id
WHERE t.ended_at >= :since AND t.started_at < :until
ORDER BY t.started_at DESC
LIMIT :limit;

-- name: grid_event_counts
-- open / overdue: the current backlog; closed and reported: within the period.
SELECT e.grid_code,
       count(*) FILTER (WHERE e.status = ANY(CAST(:open AS text[]))) AS open,
       count(*) FILTER (WHERE e.status = ANY(CAST(:open AS text[])) AND e.due_at < now())
           AS overdue,
       count(*) FILTER (WHERE NOT (e.status = ANY(CAST(:open AS text[])))
                          AND COALESCE(e.closed_at, e.updated_at) >= :since) AS closed,
       count(*) FILTER (WHERE e.reported_at >= :since) AS reported
FROM event e
WHERE e.grid_code IS NOT NULL
  AND in_scope(e.grid_code, CAST(:scope_prefixes AS text[]))
GROUP BY e.grid_code;

-- name: grid_people
SELECT r.area_code AS grid_code, w.code, w.name, r.role
FROM grid_role r JOIN worker w ON w.id = r.worker_id
JOIN grid g ON g.code = r.area_code
JOIN generation gen ON gen.id = g.generation_id AND gen.status = 'active'
WHERE r.valid_from <= now() AND (r.valid_to IS NULL OR r.valid_to > now())
ORDER BY r.area_code, CASE r.role WHEN 'grid_leader' THEN 0 WHEN 'full_time' THEN 1 ELSE 2 END,
         w.code;

-- name: worker_stats
SELECT w.code, w.name, w.active,
       (SELECT string_agg(r.role || ' ' || r.area_code, ', ' ORDER BY r.area_code)
        FROM grid_role r WHERE r.worker_id = w.id AND r.valid_from <= now()
          AND (r.valid_to IS NULL OR r.valid_to > now())) AS roles,
       COALESCE(rep.n, 0) AS reports,
       COALESCE(asg.n, 0) AS assigned_open,
       COALESCE(p.patrols, 0) AS patrols,
       round(COALESCE(p.km, 0)::numeric, 2) AS patrol_km,
       p.last_patrol
FROM worker w
LEFT JOIN (SELECT reporter, count(*) AS n FROM event
           WHERE reported_at >= :since AND reporter IS NOT NULL GROUP BY reporter) rep
       ON rep.reporter = w.code
LEFT JOIN (SELECT worker_id, count(*) AS n FROM event
           WHERE status = ANY(CAST(:open AS text[])) AND worker_id IS NOT NULL
           GROUP BY worker_id) asg ON asg.worker_id = w.id
LEFT JOIN (SELECT worker_id, count(*) AS patrols, sum(length_m) / 1000 AS km,
                  max(ended_at) AS last_patrol
           FROM patrol_track WHERE ended_at >= :since GROUP BY worker_id) p
       ON p.worker_id = w.id
ORDER BY w.code;

-- name: buildings
-- Buildings in a box, for the map without a basemap (drawn when zoomed in); @tol as units.
SELECT b.id, b.name, b.address, b.floors,
       ST_AsGeoJSON(ST_SimplifyPreserveTopology(b.geom, :tol), 6) AS geometry
FROM building b
WHERE b.geom && ST_MakeEnvelope(:minlon, :minlat, :maxlon, :maxlat, 4326)
ORDER BY b.id
LIMIT :limit;

-- Heat bins at zoom 13 and below (event_bins_cells): square cells of @cellx degrees whose
-- index is the zoom-13 cell index (event_tally_cell, migration 0015) shifted right by
-- @shift; the bins overlapping the view [@ix0..@ix1] x [@iy0..@iy1] count all their events.
-- The same numbers two ways: events one by one (filtered by class, status, overdue too), or
-- from event_tally (tally_bins) when only the window, the area and the scope filter.

-- name: event_bins_cells
SELECT event_tally_cell(ST_X(e.geom)) >> :shift AS ix,
       event_tally_cell(ST_Y(e.geom)) >> :shift AS iy,
       count(*) AS n,
       count(*) FILTER (WHERE e.status = ANY(CAST(:open AS text[]))) AS n_open
FROM event e
WHERE e.geom && ST_MakeEnvelope(:ix0 * :cellx, :iy0 * :cellx, (:ix1 + 1) * :cellx,
                                (:iy1 + 1) * :cellx, 4326)
  AND (event_tally_cell(ST_X(e.geom)) >> :shift) BETWEEN :ix0 AND :ix1
  AND (event_tally_cell(ST_Y(e.geom)) >> :shift) BETWEEN :iy0 AND :iy1
  AND e.reported_at >= :since AND e.reported_at < :until
  AND (CAST(:classes AS text[]) IS NULL OR e.item_code IN (
        SELECT i.code FROM event_item i WHERE i.class_code = ANY(CAST(:classes AS text[]))))
  AND (CAST(:statuses AS text[]) IS NULL OR e.status = ANY(CAST(:statuses AS text[])))
  AND in_scope(e.grid_code, CAST(:area AS text[]))
  AND in_scope(e.grid_code, CAST(:scope_prefixes AS text[]))
  AND (NOT :overdue OR (e.status = ANY(CAST(:open AS text[])) AND e.due_at < now()))
GROUP BY 1, 2;

-- name: tally_kept_spans
-- The kept counts of the window (rows of cell, grid, n, n_open; tally_bins / tally_summary sum
-- them): its whole UTC days [@d0, @d1) from the day rows, its other whole hours [@h0, @ha) and
-- [@hb, @h1) from the hour rows, the rest of the window [@since, @ra) and [@rb, @until)
-- (partial hours) from the events themselves (tally_spans). Each span of event_tally is its
-- own range of the key (which includes the counts), so the rows come from the index alone; an
-- OR of them would be one bitmap scan over heap pages.
WITH kept AS (
    SELECT t.ix, t.iy, t.grid_code, t.n, t.n_open FROM event_tally t
    WHERE t.hours = 24 AND t.bucket >= :d0 AND t.bucket < :d1
    UNION ALL
    SELECT t.ix, t.iy, t.grid_code, t.n, t.n_open FROM event_tally t
    WHERE t.hours = 1 AND t.bucket >= :h0 AND t.bucket < :ha
    UNION ALL
    SELECT t.ix, t.iy, t.grid_code, t.n, t.n_open FROM event_tally t
    WHERE t.hours = 1 AND t.bucket >= :hb AND t.bucket < :h1
    UNION ALL
    SELECT t.ix, t.iy, t.grid_code, t.n, t.n_open FROM event_tally_delta t
    WHERE (t.hours = 24 AND t.bucket >= :d0 AND t.bucket < :d1)
       OR (t.hours = 1 AND ((t.bucket >= :h0 AND t.bucket < :ha)
                            OR (t.bucket >= :hb AND t.bucket < :h1)))
    UNION ALL
    SELECT event_tally_cell(ST_X(e.geom)), event_tally_cell(ST_Y(e.geom)), e.grid_code, 1,
           CASE WHEN e.status = ANY(CAST(:open AS text[])) THEN 1 ELSE 0 END
    FROM event e
    WHERE (e.reported_at >= :since AND e.reported_at < :ra)
       OR (e.reported_at >= :rb AND e.reported_at < :until)
)

-- name: tally_kept_from
-- The kept counts of an open-ended window [@since, far future) whose start hour @hs is kept
-- (event_tally_from, migration 0019): one row per cell and grid, the hour changes not folded
-- yet from @hs on, and the events of [@since, @hs) one by one.
WITH kept AS (
    SELECT t.ix, t.iy, t.grid_code, t.n, t.n_open FROM event_tally_from t WHERE t.start = :hs
    UNION ALL
    SELECT t.ix, t.iy, t.grid_code, t.n, t.n_open FROM event_tally_delta t
    WHERE t.hours = 1 AND t.bucket >= :hs
    UNION ALL
    SELECT event_tally_cell(ST_X(e.geom)), event_tally_cell(ST_Y(e.geom)), e.grid_code, 1,
           CASE WHEN e.status = ANY(CAST(:open AS text[])) THEN 1 ELSE 0 END
    FROM event e
    WHERE e.reported_at >= :since AND e.reported_at < :hs
)

-- name: tally_bins
-- After tally_kept_*: event_bins_cells from the kept counts. The bins in view are kept after
-- grouping (OFFSET 0 keeps the range out of the grouping): the planner cannot estimate the
-- range on shifted indexes, took it for a few rows and sorted the window's rows (70,000 at
-- 10 M stored events, spilling to disk) instead of hashing them.
SELECT c.ix, c.iy, c.n, c.n_open
FROM (SELECT k.ix >> :shift AS ix, k.iy >> :shift AS iy, sum(k.n) AS n,
             sum(k.n_open) AS n_open
      FROM kept k
      WHERE in_scope(k.grid_code, CAST(:area AS text[]))
        AND in_scope(k.grid_code, CAST(:scope_prefixes AS text[]))
      GROUP BY 1, 2 OFFSET 0) c
WHERE c.ix BETWEEN :ix0 AND :ix1 AND c.iy BETWEEN :iy0 AND :iy1 AND c.n > 0;

-- name: tally_summary
-- After tally_kept_*: total and open of event_summary from the kept counts (every cell).
SELECT COALESCE(sum(k.n), 0) AS total, COALESCE(sum(k.n_open), 0) AS open
FROM kept k
WHERE in_scope(k.grid_code, CAST(:area AS text[]))
  AND in_scope(k.grid_code, CAST(:scope_prefixes AS text[]));

-- name: tally_from_ready
-- Whether start hour @hs is kept (event_tally_from); read in the same snapshot as the counts.
SELECT EXISTS (SELECT 1 FROM event_tally_start WHERE start = :hs);

-- name: tally_from_build
-- Keep start hour @hs (counted once from the day and hour rows, then by every fold).
SELECT event_tally_from_build(:hs);

-- name: summary_overdue_last
-- overdue and last_id of event_summary without class, status or overdue filters: the newest
-- id, and the overdue count either from the open backlog's partial indexes (every open event
-- of the window) or, with @kept (the whole district: no area, no scope), from the kept due
-- counts (event_due_tally and its unfolded changes) of the window's whole report hours
-- [ra, rb) due before this hour, plus one by one the open events of its partial hours
-- [since, ra) and [rb, until) past due and those of [ra, rb) falling due this hour before now.
SELECT CASE WHEN :kept THEN
         (SELECT COALESCE(sum(k.n_open), 0) FROM (
            SELECT t.n_open FROM event_due_tally t
            WHERE t.rep_hour >= :ra AND t.rep_hour < :rb
              AND t.due_hour < date_trunc('hour', now(), 'UTC')
            UNION ALL
            SELECT d.n_open FROM event_due_delta d
            WHERE d.rep_hour >= :ra AND d.rep_hour < :rb
              AND d.due_hour < date_trunc('hour', now(), 'UTC')) k)
         + (SELECT count(*) FROM event e
            WHERE e.status = ANY(CAST(:open AS text[])) AND e.due_at < now()
              AND e.reported_at >= :since AND e.reported_at < :ra)
         + (SELECT count(*) FROM event e
            WHERE e.status = ANY(CAST(:open AS text[])) AND e.due_at < now()
              AND e.reported_at >= :rb AND e.reported_at < :until)
         + (SELECT count(*) FROM event e
            WHERE e.status = ANY(CAST(:open AS text[])) AND e.due_at < now()
              AND e.due_at >= date_trunc('hour', now(), 'UTC')
              AND e.reported_at >= :ra AND e.reported_at < :rb)
       ELSE
         (SELECT count(*) FROM event e
          WHERE e.status = ANY(CAST(:open AS text[])) AND e.due_at < now()
            AND e.reported_at >= :since AND e.reported_at < :until
            AND in_scope(e.grid_code, CAST(:area AS text[]))
            AND in_scope(e.grid_code, CAST(:scope_prefixes AS text[])))
       END AS overdue,
       (SELECT max(e.id) FROM event e
        WHERE e.reported_at >= :since AND e.reported_at < :until
          AND in_scope(e.grid_code, CAST(:area AS text[]))
          AND in_scope(e.grid_code, CAST(:scope_prefixes AS text[]))) AS last_id;

-- name: tally_rebuild
-- Recount event_tally from every event (after a bulk load with triggers off).
SELECT event_tally_rebuild();
