-- Resident reports (gis.intake.resident): tracking codes, rate limits, status, points.
-- name: lock_key
-- Serialises the rate-limit check and the insert of reports sharing one key (@key: a
-- client key or a phone number, prefixed), until the transaction ends.
SELECT pg_advisory_xact_lock(hashtextextended(:key, 20261204));
-- name: count_client
SELECT count(*) FROM resident_report WHERE client_key = :client_key AND created_at > :since;
-- name: count_phone
SELECT count(*) FROM resident_report WHERE phone = :phone AND created_at > :since;
-- name: insert_report
-- A tracking code already taken inserts nothing (the caller draws another one).
INSERT INTO resident_report (event_id, tracking_code, phone, client_key, created_at)
VALUES (:event_id, :code, :phone, :client_key, :at)
ON CONFLICT (tracking_code) DO NOTHING
RETURNING tracking_code;
-- name: delete_event
-- Undoes a report whose photos could not be kept (its rows go with it, ON DELETE CASCADE).
DELETE FROM event WHERE id = :event_id AND source = 'resident';
-- name: report_by_code
SELECT r.event_id, r.tracking_code, r.phone, e.item_code, i.name AS item_name,
       i.name_zh AS item_name_zh, c.name AS class_name, c.name_zh AS class_name_zh,
       e.status, e.reported_at, e.location_status, e.closed_at,
       (SELECT count(*) FROM attachment a
        WHERE a.event_id = e.id AND a.step = 'report' AND a.kind = 'photo') AS photos
FROM resident_report r
JOIN event e ON e.id = r.event_id
JOIN event_item i ON i.code = e.item_code
JOIN event_class c ON c.code = i.class_code
WHERE r.tracking_code = :code;
-- name: public_history
-- The steps a resident may read (@actions): when, what; never who or the notes.
SELECT h.at, h.action, h.to_status FROM event_history h
WHERE h.event_id = :event_id AND h.action = ANY(:actions)
ORDER BY h.at, h.id;
-- name: code_of_phone
SELECT event_id FROM resident_report WHERE tracking_code = :code AND phone = :phone;
-- name: points_of_phone
SELECT p.points, p.awarded_at, p.reason, r.tracking_code, i.name AS item_name,
       i.name_zh AS item_name_zh
FROM resident_points p
LEFT JOIN resident_report r ON r.event_id = p.event_id
LEFT JOIN event e ON e.id = p.event_id
LEFT JOIN event_item i ON i.code = e.item_code
WHERE p.reporter = :phone
ORDER BY p.awarded_at DESC, p.id DESC;
-- name: area_outlines
-- The active generation's district outline and grid outlines (names only: no people, no codes).
SELECT 'district' AS level, d.name, ST_AsGeoJSON(d.geom, 6) AS geojson
FROM district d JOIN generation g ON g.id = d.generation_id AND g.status = 'active'
UNION ALL
SELECT 'grid', gr.name, ST_AsGeoJSON(gr.geom, 6)
FROM grid gr JOIN generation g ON g.id = gr.generation_id AND g.status = 'active';
