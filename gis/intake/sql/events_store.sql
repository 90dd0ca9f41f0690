-- Store located reports of one or MANY requests (group commit) in ONE statement: the text
-- below runs as it is, as `PREPARE wg_store AS <this file>` once per connection, then
-- `EXECUTE wg_store (...)` per group (run in autocommit: the statement is the transaction, so
-- every request of the group is committed together, or none is).
-- $1 … $30 are text arrays with one element per report, in the order of the columns of a
-- (typed in v); $31 the request (0, 1, …) each report belongs to. $32 … $38 have one element
-- per request: its Idempotency-Key, body hash, whether to audit, the caller's token id, role
-- and name, and the token to check again here (a token the API took from its short cache:
-- revoked or expired since, the request stores nothing and is answered 401). $39 the
-- generation the reports were located in.
-- Nothing is inserted unless that generation is still the active one: `ok` holds that
-- generation row FOR SHARE, so a boundary activation (which updates the row) waits for this
-- statement, and a statement that starts after an activation inserts nothing (`moved`), so the
-- caller re-locates against the new generation.
-- An Idempotency-Key already stored (or being stored by a concurrent statement, which this one
-- waits for) makes its request store nothing (`taken`: the caller answers with the stored
-- answer); the other requests of the group are stored all the same. Event ids are drawn
-- first, so each key's stored answer holds the ids of its own events.
WITH a (uid, item_code, source, reporter, description, reported_at, received_at, geom,
        input_lon, input_lat, input_crs, building_id, address, camera_id, location_status,
        location_method, distance_m, generation_id, grid_id, unit_id, street_code,
        community_code, grid_code, unit_code, worker_id, level, due_at, hist, resp, ord, req)
    AS (SELECT * FROM unnest(
        $1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
        $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[],
        $15::text[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[],
        $21::text[], $22::text[], $23::text[], $24::text[], $25::text[], $26::text[],
        $27::text[], $28::text[], $29::text[], $30::text[], $31::int[])),
r (req, key, request_hash, audited, token_id, role, actor, check_token) AS (
    SELECT o - 1, k, h, au, t, ro, ac, ct
    FROM unnest($32::text[], $33::text[], $34::boolean[], $35::bigint[], $36::text[],
                $37::text[], $38::bigint[]) WITH ORDINALITY AS x (k, h, au, t, ro, ac, ct, o)
),
active AS (
    SELECT id FROM generation WHERE status = 'active' FOR SHARE
),
ok AS (
    SELECT 1 AS ok
    WHERE CAST($39 AS int) IS NOT DISTINCT FROM (SELECT max(id) FROM active)
),
live AS (
    SELECT r.* FROM r
    WHERE EXISTS (SELECT 1 FROM ok)
      AND (r.check_token IS NULL OR EXISTS (
          SELECT 1 FROM api_token t
          WHERE t.id = r.check_token AND t.revoked_at IS NULL
            AND (t.expires_at IS NULL OR t.expires_at > now())))
),
v AS MATERIALIZED (
    SELECT nextval('event_id_seq'::regclass) AS id, uid::uuid, item_code, source, reporter,
           description, reported_at::timestamptz, received_at::timestamptz,
           ST_GeomFromEWKT(geom) AS geom, input_lon::float8, input_lat::float8, input_crs,
           building_id::bigint, address, camera_id::bigint, location_status, location_method,
           distance_m::float8, generation_id::int, grid_id::bigint, unit_id::bigint,
           street_code, community_code, grid_code, unit_code, worker_id::bigint, level,
           due_at::timestamptz, hist::jsonb, resp::jsonb, ord::int, req
    FROM a
    WHERE a.req IN (SELECT req FROM live)
    ORDER BY a.req, a.ord::int
),
idem AS (
    INSERT INTO idempotency_key (key, request_hash, status_code, response)
    SELECT live.key, live.request_hash, 201,
           (SELECT jsonb_agg(jsonb_set(v.resp, '{id}', to_jsonb(v.id)) ORDER BY v.ord)
            FROM v WHERE v.req = live.req)
    FROM live
    WHERE live.key IS NOT NULL
    ON CONFLICT (key) DO NOTHING
    RETURNING key
),
won AS (
    SELECT live.req FROM live
    WHERE live.key IS NULL OR live.key IN (SELECT key FROM idem)
),
ins AS (
    INSERT INTO event (id, uid, item_code, source, reporter, description, reported_at,
        received_at, geom, input_lon, input_lat, input_crs, building_id, address, camera_id,
        location_status, location_method, distance_m, generation_id, grid_id, unit_id,
        street_code, community_code, grid_code, unit_code, worker_id, level, due_at)
    SELECT id, uid, item_code, source, reporter, description, reported_at, received_at,
        geom, input_lon, input_lat, input_crs, building_id, address, camera_id, location_status,
        location_method, distance_m, generation_id, grid_id, unit_id, street_code,
        community_code, grid_code, unit_code, worker_id, level, due_at
    FROM v WHERE v.req IN (SELECT req FROM won)
    ORDER BY id
    RETURNING id
),
hist AS (
    INSERT INTO event_history (event_id, at, action, from_status, to_status, actor, data)
    SELECT ins.id, v.received_at, 'reported', NULL, 'reported', v.reporter, v.hist
    FROM ins JOIN v USING (id)
    ORDER BY ins.id
),
aud AS (
    INSERT INTO audit_log (token_id, role, actor, action, target, outcome, data)
    SELECT r.token_id, r.role, r.actor, 'event.report',
           string_agg('event:' || ins.id, ',' ORDER BY ins.id), 'ok',
           jsonb_build_object('count', count(*))
    FROM ins JOIN v USING (id) JOIN r ON r.req = v.req
    WHERE r.audited
    GROUP BY r.req, r.token_id, r.role, r.actor
    ORDER BY r.req
)
SELECT r.req,
       CASE WHEN NOT EXISTS (SELECT 1 FROM ok) THEN 'moved'
            WHEN NOT EXISTS (SELECT 1 FROM live WHERE live.req = r.req) THEN 'token'
            WHEN NOT EXISTS (SELECT 1 FROM won WHERE won.req = r.req) THEN 'taken'
            ELSE 'stored' END AS outcome,
       ARRAY(SELECT v.id FROM v WHERE v.req = r.req ORDER BY v.ord) AS ids
FROM r
ORDER BY r.req;
