-- Store located reports, one or many, in ONE statement: the text below runs as it is, as
-- `PREPARE wg_store AS <this file>` once per connection, then `EXECUTE wg_store (...)` per
-- request (run in autocommit: the statement is the transaction). $1 … $30 are text arrays
-- with one element per report, in the order of the columns of a (typed in v); $31 the
-- generation the reports were located in, $32 the Idempotency-Key, $33 the body hash, $34
-- whether to audit, $35 … $37 the caller's token id, role and name.
-- Nothing is inserted unless the generation the reports were located in is still the active
-- one: `ok` holds that generation row FOR SHARE, so a boundary activation (which updates the
-- row) waits for this statement, and a statement that starts after an activation inserts
-- nothing, so the caller re-locates against the new generation.
WITH a (uid, item_code, source, reporter, description, reported_at, received_at, geom,
        input_lon, input_lat, input_crs, building_id, address, camera_id, location_status,
        location_method, distance_m, generation_id, grid_id, unit_id, street_code,
        community_code, grid_code, unit_code, worker_id, level, due_at, hist, resp, ord)
    AS (SELECT * FROM unnest(
        $1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
        $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[],
        $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[],
        $21::text[], $22::text[], $23::text[], $24::text[], $25::text[], $26::text[],
        $27::text[], $28::text[], $29::text[], $30::text[])),
v AS (
    SELECT uid::uuid, item_code, source, reporter, description,
           reported_at::timestamptz, received_at::timestamptz, ST_GeomFromEWKT(geom) AS geom,
           input_lon::float8, input_lat::float8, input_crs, building_id::bigint, address,
           camera_id::bigint, location_status, location_method, distance_m::float8,
           generation_id::int, grid_id::bigint, unit_id::bigint, street_code, community_code,
           grid_code, unit_code, worker_id::bigint, level, due_at::timestamptz,
           hist::jsonb, resp::jsonb, ord::int
    FROM a
),
active AS (
    SELECT id FROM generation WHERE status = 'active' FOR SHARE
),
ok AS (
    SELECT 1 AS ok
    WHERE CAST($31 AS int) IS NOT DISTINCT FROM (SELECT max(id) FROM active)
),
ins AS (
    INSERT INTO event (uid, item_code, source, reporter, description, reported_at,
        received_at, geom, input_lon, input_lat, input_crs, building_id, address, camera_id,
        location_status, location_method, distance_m, generation_id, grid_id, unit_id,
        street_code, community_code, grid_code, unit_code, worker_id, level, due_at)
    SELECT uid, item_code, source, reporter, description, reported_at, received_at,
        geom, input_lon, input_lat, input_crs, building_id, address, camera_id, location_status,
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
    SELECT $32::text, $33::text, 201,
           jsonb_agg(jsonb_set(v.resp, '{id}', to_jsonb(ins.id)) ORDER BY v.ord)
    FROM ins JOIN v USING (uid)
    WHERE CAST($32 AS text) IS NOT NULL
    HAVING count(*) > 0
),
aud AS (
    INSERT INTO audit_log (token_id, role, actor, action, target, outcome, data)
    SELECT $35::bigint, $36::text, $37::text, 'event.report',
           string_agg('event:' || ins.id, ',' ORDER BY ins.id), 'ok',
           jsonb_build_object('count', count(*))
    FROM ins
    WHERE $34::boolean
    HAVING count(*) > 0
)
SELECT ins.uid::text, ins.id FROM ins;
