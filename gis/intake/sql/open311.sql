-- name: requests
-- Events as Open311 service requests, newest first: only what the caller may read (the one
-- read-scope rule, visible_events of migration 0007). Filters (NULL: any): ids, item codes,
-- statuses, reported at or after start and at or before end. status_note: the newest note
-- of the history; media_url: the one an integrating system sent (history action open311);
-- agency_name: the area at the event's handling level in the event's generation.
SELECT e.id, e.uid, e.item_code, COALESCE(i.name_zh, i.name) AS service_name, e.status,
       e.level, e.description, e.reported_at, e.updated_at, e.due_at, e.address,
       e.building_id, ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat,
       (SELECT h.note FROM event_history h
        WHERE h.event_id = e.id AND h.note IS NOT NULL AND h.note <> ''
        ORDER BY h.at DESC, h.id DESC LIMIT 1) AS status_note,
       (SELECT h.data ->> 'media_url' FROM event_history h
        WHERE h.event_id = e.id AND h.action = 'open311'
        ORDER BY h.id LIMIT 1) AS media_url,
       CASE e.level
           WHEN 'grid' THEN (SELECT g.name FROM grid g
                             WHERE g.generation_id = e.generation_id AND g.code = e.grid_code)
           WHEN 'community' THEN (SELECT c.name FROM community c
                                  WHERE c.generation_id = e.generation_id
                                    AND c.code = e.community_code)
           WHEN 'street' THEN (SELECT s.name FROM street s
                               WHERE s.generation_id = e.generation_id
                                 AND s.code = e.street_code)
           ELSE (SELECT d.name FROM district d WHERE d.generation_id = e.generation_id
                 ORDER BY d.code LIMIT 1)
       END AS agency_name
FROM visible_events(CAST(:scope_prefixes AS text[]), CAST(:scope_department AS text)) e
JOIN event_item i ON i.code = e.item_code
WHERE (CAST(:ids AS bigint[]) IS NULL OR e.id = ANY(CAST(:ids AS bigint[])))
  AND (CAST(:codes AS text[]) IS NULL OR e.item_code = ANY(CAST(:codes AS text[])))
  AND (CAST(:statuses AS text[]) IS NULL OR e.status = ANY(CAST(:statuses AS text[])))
  AND (CAST(:start_at AS timestamptz) IS NULL OR e.reported_at >= :start_at)
  AND (CAST(:end_at AS timestamptz) IS NULL OR e.reported_at <= :end_at)
ORDER BY e.reported_at DESC, e.id DESC
LIMIT :limit;
-- name: id_of_uid
-- The id of the event with a uid (the Open311 token of a request), in the caller's scope.
SELECT e.id
FROM visible_events(CAST(:scope_prefixes AS text[]), CAST(:scope_department AS text)) e
WHERE e.uid = CAST(:uid AS uuid);
-- name: record_channel
-- What an integrating system sent that the event row does not hold (media_url, its own ids),
-- as one history row of the event (action open311), right after intake.
INSERT INTO event_history (event_id, action, actor, data)
VALUES (:event_id, 'open311', :actor, CAST(:data AS jsonb));
-- name: duplicate_of
-- The open event a new event was linked to as a possible duplicate on intake (if any).
SELECT original_id, round(distance_m) AS distance_m FROM event_duplicate
WHERE event_id = :event_id AND status = 'possible'
ORDER BY distance_m LIMIT 1;
