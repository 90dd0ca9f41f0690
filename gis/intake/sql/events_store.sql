-- Store a batch of located reports in ONE statement (run in autocommit: the statement is the
-- transaction). /*VALUES*/ is replaced by the mogrified rows; the rest are bound parameters.
-- Nothing is inserted unless the generation the reports were located in is still the active
-- one: `ok` holds that generation row FOR SHARE, so a boundary activation (which updates the
-- row) waits for this statement, and a statement that starts after an activation inserts
-- nothing, so the caller re-locates against the new generation.
WITH v (uid, item_code, source, reporter, description, reported_at, received_at, geom,
        input_lon, input_lat, input_crs, building_id, address, camera_id, location_status,
        location_method, distance_m, generation_id, grid_id, unit_id, street_code,
        community_code, grid_code, unit_code, worker_id, level, due_at, hist, resp, ord)
    AS (VALUES /*VALUES*/),
active AS (
    SELECT id FROM generation WHERE status = 'active' FOR SHARE
),
ok AS (
    SELECT 1 AS ok
    WHERE CAST(%(gen)s AS int) IS NOT DISTINCT FROM (SELECT max(id) FROM active)
),
ins AS (
    INSERT INTO event (uid, item_code, source, reporter, description, reported_at,
        received_at, geom, input_lon, input_lat, input_crs, building_id, address, camera_id,
        location_status, location_method, distance_m, generation_id, grid_id, unit_id,
        street_code, community_code, grid_code, unit_code, worker_id, level, due_at)
    SELECT uid, item_code, source, reporter, description, reported_at, received_at, geom,
        input_lon, input_lat, input_crs, building_id, address, camera_id, location_status,
        location_method, distance_m, generation_id, grid_id, unit_id, street_code,
        community_code, grid_code, unit_code, worker_id, level, due_at
    FROM v WHERE EXISTS (SELECT 1 FROM ok)
    ORDER BY ord
    RETURNING id, uid
),
hist AS (
    INSERT INTO event_history (event_id, at, action, from_status, to_status, actor, data)
    SELECT ins.id, v.received_at, 'reported', NULL, 'reported', v.reporter, v.hist
    FROM ins JOIN v USING (uid)
),
idem AS (
    INSERT INTO idempotency_key (key, request_hash, status_code, response)
    SELECT %(key)s, %(hash)s, 201,
           jsonb_agg(jsonb_set(v.resp, '{id}', to_jsonb(ins.id)) ORDER BY v.ord)
    FROM ins JOIN v USING (uid)
    WHERE CAST(%(key)s AS text) IS NOT NULL
    HAVING count(*) > 0
),
aud AS (
    INSERT INTO audit_log (token_id, role, actor, action, target, outcome, data)
    SELECT %(token_id)s, %(role)s, %(actor)s, 'event.report',
           string_agg('event:' || ins.id, ',' ORDER BY ins.id), 'ok',
           jsonb_build_object('count', count(*))
    FROM ins
    WHERE %(audit)s
    HAVING count(*) > 0
)
SELECT ins.uid::text, ins.id FROM ins;
