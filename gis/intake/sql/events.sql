-- name: active_generation_for_share
-- Taken in every intake transaction: boundary activation must wait for in-flight reports,
-- and reports that arrive during activation see the new generation (see boundaries/).
SELECT id FROM generation WHERE status = 'active' FOR SHARE;
-- name: idem_claim
INSERT INTO idempotency_key (key, request_hash) VALUES (:key, :hash)
ON CONFLICT (key) DO NOTHING RETURNING key;
-- name: idem_get
SELECT request_hash, status_code, response FROM idempotency_key WHERE key = :key;
-- name: idem_store
UPDATE idempotency_key SET status_code = :status, response = CAST(:response AS jsonb) WHERE key = :key;
-- name: event_by_id
SELECT e.id, e.uid, e.item_code, i.class_code, e.source, e.reporter, e.description,
       e.reported_at, e.received_at, ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat,
       e.input_lon, e.input_lat, e.input_crs, e.building_id, e.address, e.location_status,
       e.location_method, e.distance_m, e.generation_id, e.street_code, e.community_code,
       e.grid_code, e.unit_code, w.code AS worker, e.status, e.level, e.due_at, e.updated_at,
       e.closed_at
FROM event e JOIN event_item i ON i.code = e.item_code LEFT JOIN worker w ON w.id = e.worker_id
WHERE e.id = :id;
-- name: event_visible
-- The read scope of list_events (gis.access.auth.read_scope) applied to one event.
SELECT EXISTS (SELECT 1
               FROM visible_events(CAST(:scope_prefixes AS text[]), CAST(:scope_department AS text)) e
               WHERE e.id = :id);
-- name: history
SELECT at, action, from_status, to_status, actor, note, data FROM event_history
WHERE event_id = :id ORDER BY at, id;
-- name: list_events
SELECT e.id, e.uid, e.item_code, i.class_code, e.source, e.description, e.reported_at,
       ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat, e.location_status, e.location_method,
       e.grid_code, e.unit_code, e.community_code, e.street_code, w.code AS worker, e.status,
       e.level, e.due_at
-- only what the caller may read (gis.access.auth.read_scope; the rule: visible_events, 0007)
FROM visible_events(CAST(:scope_prefixes AS text[]), CAST(:scope_department AS text)) e
JOIN event_item i ON i.code = e.item_code LEFT JOIN worker w ON w.id = e.worker_id
WHERE (CAST(:grid AS text) IS NULL OR e.grid_code = :grid)
  AND (CAST(:status AS text[]) IS NULL OR e.status = ANY(CAST(:status AS text[])))
  AND (CAST(:category AS text) IS NULL OR e.item_code = :category OR i.class_code = :category)
  AND (CAST(:location_status AS text) IS NULL OR e.location_status = :location_status)
  AND (CAST(:since AS timestamptz) IS NULL OR e.reported_at >= :since)
  AND (CAST(:until AS timestamptz) IS NULL OR e.reported_at < :until)
  AND (CAST(:minlon AS float8) IS NULL
       OR e.geom && ST_MakeEnvelope(:minlon, :minlat, :maxlon, :maxlat, 4326))
  AND (CAST(:before_id AS bigint) IS NULL OR e.id < :before_id)
ORDER BY e.id DESC
LIMIT :limit;
-- name: dispatch_records
-- Dispatch and notification records of one event, oldest first.
SELECT id, at, kind, level, area_code, department, actor, note, acknowledged_at
FROM event_dispatch WHERE event_id = :e
ORDER BY at, id;
-- name: camera_ids
-- Ids of the cameras named by code in a batch of reports.
SELECT code, id FROM camera WHERE code = ANY(:c);
