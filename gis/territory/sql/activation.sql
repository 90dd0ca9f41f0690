-- name: active_generation
SELECT id FROM generation WHERE status = 'active';

-- name: lock_imports
-- Serialises boundary imports / activations / rollbacks (intake is never blocked by it).
SELECT pg_advisory_xact_lock(hashtext('wangge.boundaries'));

-- name: retire_active
-- The switch: waits for every intake statement holding FOR SHARE on the active generation
-- row; intakes arriving later wait for this transaction and then re-locate against the new
-- generation.  An activation runs it last (after re-locating the open events), so intake
-- waits only for the switch and for the events reported meanwhile.
UPDATE generation SET status = 'retired' WHERE status = 'active' RETURNING id;

-- name: quiesce_intake
-- In a savepoint rolled back at once: waits for the intake statements storing now (they
-- hold the active generation row FOR SHARE and draw event ids only once they hold it) and
-- holds back new ones, for as long as the next statement takes.
SELECT id FROM generation WHERE status = 'active' FOR NO KEY UPDATE;

-- name: last_event_id
-- Under quiesce_intake: every event with a higher id is committed later.
SELECT coalesce(max(id), 0) FROM event;

-- name: announce_draft
-- Delivered at commit: API processes build their locator index of this draft ahead of its
-- activation (gis.territory.locator.Locator.prepare).
SELECT pg_notify('wangge_territory', 'prepare:' || CAST(:g AS text));

-- name: discard_draft
UPDATE generation SET status = 'discarded' WHERE id = :g AND status = 'draft';

-- name: make_active
UPDATE generation SET status = 'active', activated_at = now() WHERE id = :g;

-- name: activation_insert
INSERT INTO boundary_activation (generation_id, previous_id, kind, actor, summary)
VALUES (:g, :prev, :kind, :actor, CAST(:summary AS jsonb)) RETURNING id;

-- name: activation_counts
UPDATE boundary_activation SET events_reassigned = :reassigned, events_moved = :moved
WHERE id = :id;

-- name: last_activation
SELECT id, generation_id, previous_id, at FROM boundary_activation
WHERE kind = 'activate' AND rolled_back_at IS NULL AND generation_id = :g
ORDER BY at DESC, id DESC LIMIT 1;

-- name: activation_grids
-- The grids an activation moved events out of (a rollback puts them back there).
SELECT DISTINCT grid_code FROM event_assignment
WHERE activation_id = :activation AND grid_code IS NOT NULL;

-- name: mark_rolled_back
UPDATE boundary_activation SET rolled_back_at = now() WHERE id = :id;

-- name: generation_status
SELECT id, status FROM generation WHERE id = :g;

-- name: up_by_pieces
-- Where the open events with a point fall in generation @gen: unit piece first (lowest code
-- wins), else grid piece, else the nearest grid within @max_m metres ('outside'), else
-- 'unassigned'; the grid's responsible worker now (responsible_worker, migration 0020).
-- All open events, or (@from_gen given, a rollback) only those last located against
-- generation @from_gen; with @upto only those with an id up to it, with @after only those
-- with a higher id or in @ids (the events reported while an activation re-located the
-- others).  Composed of up_by_pieces (one pass over area_piece, ST_Subdivide'd and
-- GiST-indexed: for all open events) or up_by_events (one probe of area_piece per event: for
-- a few), then locate_near, all_areas or few_areas, area_workers and locate_moves.
-- ``moves`` keeps only the events whose assignment changes (street, community, grid or unit
-- code, worker, location status), with their former values: the others are already right
-- in @gen (codes are the identity across generations) and are left untouched.
-- points in a unit: driven by the pieces (one GiST probe of event.geom per piece, PostGIS
-- caches the prepared piece), lowest unit code wins on shared edges; the probe reads the
-- event row anyway, so it brings the event's current assignment along
WITH up AS MATERIALIZED (
    SELECT DISTINCT ON (e.id) e.*, p.area_id AS n_unit_id
    FROM area_piece p
    CROSS JOIN LATERAL (
        SELECT e.id, e.status, e.generation_id, e.grid_id, e.unit_id, e.street_code,
               e.community_code, e.grid_code, e.unit_code, e.worker_id, e.location_status,
               e.distance_m
        FROM event e
        WHERE e.geom && p.geom AND ST_Intersects(p.geom, e.geom)
          AND e.status NOT IN ('closed', 'rejected', 'duplicate')
          AND (CAST(:from_gen AS int) IS NULL OR e.generation_id = CAST(:from_gen AS int))
          AND (CAST(:upto AS bigint) IS NULL OR e.id <= CAST(:upto AS bigint))
          AND (CAST(:after AS bigint) IS NULL OR e.id > CAST(:after AS bigint)
               OR e.id = ANY(CAST(:ids AS bigint[])))
        OFFSET 0) e
    WHERE p.generation_id = :gen AND p.level = 'unit'
    ORDER BY e.id, p.code
)

-- name: up_by_events
-- points in a unit, for a few events (@after / @ids): one probe of the unit pieces per event,
-- lowest unit code wins on shared edges (as up_by_pieces)
WITH up AS MATERIALIZED (
    SELECT e.id, e.status, e.generation_id, e.grid_id, e.unit_id, e.street_code,
           e.community_code, e.grid_code, e.unit_code, e.worker_id, e.location_status,
           e.distance_m, x.area_id AS n_unit_id
    FROM event e
    CROSS JOIN LATERAL (
        SELECT p.area_id FROM area_piece p
        WHERE p.geom && e.geom AND p.level = 'unit' AND p.generation_id = :gen
          AND ST_Intersects(p.geom, e.geom)
        ORDER BY p.code LIMIT 1) x
    WHERE e.status NOT IN ('closed', 'rejected', 'duplicate')
      AND (CAST(:from_gen AS int) IS NULL OR e.generation_id = CAST(:from_gen AS int))
      AND (CAST(:upto AS bigint) IS NULL OR e.id <= CAST(:upto AS bigint))
      AND (CAST(:after AS bigint) IS NULL OR e.id > CAST(:after AS bigint)
           OR e.id = ANY(CAST(:ids AS bigint[])))
)

-- name: locate_near
-- open events in no unit piece: in a grid piece (lowest code), else the nearest grid
, rest AS MATERIALIZED (
    SELECT e.id, e.geom, e.status, e.generation_id, e.grid_id, e.unit_id, e.street_code,
           e.community_code, e.grid_code, e.unit_code, e.worker_id, e.location_status,
           e.distance_m
    FROM event e
    WHERE e.status NOT IN ('closed', 'rejected', 'duplicate') AND e.geom IS NOT NULL
      AND (CAST(:from_gen AS int) IS NULL OR e.generation_id = CAST(:from_gen AS int))
      AND (CAST(:upto AS bigint) IS NULL OR e.id <= CAST(:upto AS bigint))
      AND (CAST(:after AS bigint) IS NULL OR e.id > CAST(:after AS bigint)
           OR e.id = ANY(CAST(:ids AS bigint[])))
      AND NOT EXISTS (SELECT 1 FROM up WHERE up.id = e.id)
),
gp AS MATERIALIZED (
    SELECT r.id, x.area_id FROM rest r
    CROSS JOIN LATERAL (
        SELECT p.area_id FROM area_piece p
        WHERE p.geom && r.geom AND p.level = 'grid' AND p.generation_id = :gen
          AND ST_Intersects(p.geom, r.geom)
        ORDER BY p.code LIMIT 1) x
),
np AS MATERIALIZED (
    SELECT r.id, x.area_id, x.d FROM rest r
    CROSS JOIN LATERAL (
        SELECT p.area_id,
               round(ST_Distance(p.geom::geography, r.geom::geography)::numeric, 2)::float8 AS d
        FROM area_piece p
        WHERE p.level = 'grid' AND p.generation_id = :gen
          AND p.geom && ST_Expand(r.geom, :max_m / (111000.0 * cos(radians(ST_Y(r.geom)))),
                                  :max_m / 110000.0)
          AND ST_DWithin(p.geom::geography, r.geom::geography, :max_m)
        ORDER BY ST_Distance(p.geom::geography, r.geom::geography), p.code LIMIT 1) x
    WHERE NOT EXISTS (SELECT 1 FROM gp WHERE gp.id = r.id)
)

-- name: all_areas
-- every grid and unit of @gen (for all open events: the areas they may fall in)
, gsel AS MATERIALIZED (SELECT g.id FROM grid g WHERE g.generation_id = :gen),
usel AS MATERIALIZED (
    SELECT u.id AS unit_id, u.code AS unit_code, u.grid_code
    FROM unit u WHERE u.generation_id = :gen
)

-- name: few_areas
-- the grids and units of @gen the few events (@after / @ids) fall in: read by key from the
-- events' areas, never by scanning the generation's grids and units (its size)
, usel AS MATERIALIZED (
    SELECT u.id AS unit_id, u.code AS unit_code, u.grid_code
    FROM (SELECT DISTINCT n_unit_id FROM up) x JOIN unit u ON u.id = x.n_unit_id
),
gsel AS MATERIALIZED (
    SELECT area_id AS id FROM gp UNION SELECT area_id FROM np
    UNION SELECT g.id FROM (SELECT DISTINCT grid_code FROM usel) k
          JOIN grid g ON g.generation_id = :gen AND g.code = k.grid_code
)

-- name: area_workers
-- the responsible worker of each selected grid now (responsible_worker, migration 0020)
-- and of the selected units (their grid's)
, gw AS MATERIALIZED (
    SELECT g.id AS grid_id, g.code AS grid_code, g.community_code, c.street_code,
           rw.worker_id
    FROM gsel JOIN grid g ON g.id = gsel.id
    JOIN community c ON c.generation_id = g.generation_id AND c.code = g.community_code
    LEFT JOIN LATERAL responsible_worker(g.code, now()) rw ON true
),
uw AS MATERIALIZED (
    SELECT usel.unit_id, usel.unit_code, gw.*
    FROM usel JOIN gw ON gw.grid_code = usel.grid_code
)

-- name: locate_moves
-- every event in scope: current assignment (e.*) and new one (n_*)
, hit AS (
    SELECT up.id, up.status, up.generation_id, up.grid_id, up.unit_id, up.street_code,
           up.community_code, up.grid_code, up.unit_code, up.worker_id, up.location_status,
           up.distance_m, uw.grid_id AS n_grid_id, up.n_unit_id, uw.unit_code AS n_unit_code,
           uw.grid_code AS n_grid_code, uw.community_code AS n_community_code,
           uw.street_code AS n_street_code, uw.worker_id AS n_worker_id,
           'inside' AS n_location_status, NULL::float8 AS n_distance_m
    FROM up JOIN uw ON uw.unit_id = up.n_unit_id
    UNION ALL
    SELECT r.id, r.status, r.generation_id, r.grid_id, r.unit_id, r.street_code,
           r.community_code, r.grid_code, r.unit_code, r.worker_id, r.location_status,
           r.distance_m, gw.grid_id, NULL::bigint, NULL::text, gw.grid_code,
           gw.community_code, gw.street_code, gw.worker_id,
           CASE WHEN gp.area_id IS NOT NULL THEN 'inside'
                WHEN np.area_id IS NOT NULL THEN 'outside' ELSE 'unassigned' END,
           np.d
    FROM rest r LEFT JOIN gp ON gp.id = r.id LEFT JOIN np ON np.id = r.id
    LEFT JOIN gw ON gw.grid_id = COALESCE(gp.area_id, np.area_id)
),
-- only the events whose assignment changes
moves AS MATERIALIZED (
    SELECT * FROM hit h
    WHERE h.grid_code IS DISTINCT FROM h.n_grid_code
       OR h.unit_code IS DISTINCT FROM h.n_unit_code
       OR h.worker_id IS DISTINCT FROM h.n_worker_id
       OR h.location_status IS DISTINCT FROM h.n_location_status
       OR h.community_code IS DISTINCT FROM h.n_community_code
       OR h.street_code IS DISTINCT FROM h.n_street_code
)

-- name: reassign_tail
-- Appended to the located moves: update the moving events, remember their former
-- assignment, write their history: one statement.  Events that do not move are not written.
-- An event changed since it was located (closed, or moved by someone else) is not written
-- either: it comes back in ``skipped`` (the activation locates it again under the switch).
, upd AS (
    UPDATE event e SET generation_id = :gen, grid_id = m.n_grid_id, unit_id = m.n_unit_id,
           street_code = m.n_street_code, community_code = m.n_community_code,
           grid_code = m.n_grid_code, unit_code = m.n_unit_code, worker_id = m.n_worker_id,
           location_status = m.n_location_status, distance_m = m.n_distance_m,
           updated_at = now()
    FROM moves m
    WHERE e.id = m.id AND e.status NOT IN ('closed', 'rejected', 'duplicate')
      AND e.generation_id IS NOT DISTINCT FROM m.generation_id
      AND e.grid_id IS NOT DISTINCT FROM m.grid_id AND e.unit_id IS NOT DISTINCT FROM m.unit_id
      AND e.grid_code IS NOT DISTINCT FROM m.grid_code
      AND e.unit_code IS NOT DISTINCT FROM m.unit_code
      AND e.worker_id IS NOT DISTINCT FROM m.worker_id
      AND e.location_status IS NOT DISTINCT FROM m.location_status
    RETURNING m.*, e.status AS now_status
),
saved AS (
    INSERT INTO event_assignment (activation_id, event_id, generation_id, grid_id, unit_id,
        street_code, community_code, grid_code, unit_code, worker_id, location_status,
        distance_m)
    SELECT :activation, id, generation_id, grid_id, unit_id, street_code, community_code,
           grid_code, unit_code, worker_id, location_status, distance_m
    FROM upd
    RETURNING 1
),
hist AS (
    INSERT INTO event_history (event_id, action, from_status, to_status, actor, note, data)
    SELECT m.id, 'reassigned', m.now_status, m.now_status, :actor, :note,
           jsonb_build_object(
               'activation', :activation,
               'from', jsonb_build_object('generation', m.generation_id, 'grid', m.grid_code,
                                          'unit', m.unit_code, 'worker', ow.code,
                                          'location_status', m.location_status),
               'to', jsonb_build_object('generation', CAST(:gen AS int), 'grid', m.n_grid_code,
                                        'unit', m.n_unit_code, 'worker', nw.code,
                                        'location_status', m.n_location_status))
    FROM upd m
    LEFT JOIN worker ow ON ow.id = m.worker_id
    LEFT JOIN worker nw ON nw.id = m.n_worker_id
    RETURNING 1
)
SELECT (SELECT count(*) FROM up) + (SELECT count(*) FROM rest) AS relocated,
       (SELECT count(*) FROM upd) AS moved, (SELECT count(*) FROM saved) AS saved,
       (SELECT count(*) FROM hist) AS written,
       ARRAY(SELECT id FROM moves EXCEPT SELECT id FROM upd) AS skipped

-- name: restore_assignments
-- Rollback: put every open event the activation moved (and that is still in the rolled-back
-- generation) back exactly where it was, with a history row: one statement.
WITH a AS MATERIALIZED (
    SELECT a.*, e.status, e.grid_code AS cur_grid, e.unit_code AS cur_unit,
           e.worker_id AS cur_worker, e.location_status AS cur_location_status,
           e.generation_id AS cur_generation
    FROM event_assignment a JOIN event e ON e.id = a.event_id
    WHERE a.activation_id = :activation AND e.generation_id = :from_gen
      AND e.status NOT IN ('closed', 'rejected', 'duplicate')
),
upd AS (
    UPDATE event e SET generation_id = a.generation_id, grid_id = a.grid_id,
           unit_id = a.unit_id, street_code = a.street_code,
           community_code = a.community_code, grid_code = a.grid_code,
           unit_code = a.unit_code, worker_id = a.worker_id,
           location_status = a.location_status, distance_m = a.distance_m, updated_at = now()
    FROM a WHERE e.id = a.event_id
    RETURNING 1
),
hist AS (
    INSERT INTO event_history (event_id, action, from_status, to_status, actor, note, data)
    SELECT a.event_id, 'reassigned', a.status, a.status, :actor, :note,
           jsonb_build_object(
               'rollback_of', :activation,
               'from', jsonb_build_object('generation', a.cur_generation, 'grid', a.cur_grid,
                                          'unit', a.cur_unit, 'worker', ow.code,
                                          'location_status', a.cur_location_status),
               'to', jsonb_build_object('generation', a.generation_id, 'grid', a.grid_code,
                                        'unit', a.unit_code, 'worker', nw.code,
                                        'location_status', a.location_status))
    FROM a
    LEFT JOIN worker ow ON ow.id = a.cur_worker
    LEFT JOIN worker nw ON nw.id = a.worker_id
    WHERE a.cur_grid IS DISTINCT FROM a.grid_code OR a.cur_unit IS DISTINCT FROM a.unit_code
       OR a.cur_worker IS DISTINCT FROM a.worker_id
       OR a.cur_location_status IS DISTINCT FROM a.location_status
    RETURNING 1
)
SELECT (SELECT count(*) FROM upd) AS restored, (SELECT count(*) FROM hist) AS moved

-- name: generations
-- open_events: open events last located against the generation (an activation rewrites
-- only the events that move, so unmoved ones keep the rows they were located against).
SELECT g.id, g.status, g.created_at, g.activated_at, g.description, g.source,
       (SELECT count(*) FROM community c WHERE c.generation_id = g.id) AS communities,
       (SELECT count(*) FROM grid x WHERE x.generation_id = g.id) AS grids,
       (SELECT count(*) FROM unit u WHERE u.generation_id = g.id) AS units,
       (SELECT count(*) FROM event e WHERE e.generation_id = g.id
          AND e.status NOT IN ('closed', 'rejected', 'duplicate')) AS open_events
FROM generation g ORDER BY g.id;

-- name: activation_summary
UPDATE boundary_activation SET summary = CAST(:summary AS jsonb) WHERE id = :id;

-- name: no_statement_timeout
-- Imports, activations and rollbacks may run long: lift the API's statement timeout.
SET LOCAL statement_timeout = 0;

-- name: jit_off
SET LOCAL jit = off;

-- name: work_mem
SET LOCAL work_mem = '256MB';

-- name: serial_plans
-- The activation statements write (no parallel plan anyway); keep the preview's plan serial too.
SET LOCAL max_parallel_workers_per_gather = 0;

-- name: analyze_territory
ANALYZE district, street, community, grid, unit, area_piece;
