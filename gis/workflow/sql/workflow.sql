-- name: event_for_update
-- The event and its catalogue entry, locked for a transition.
SELECT e.id, e.status, e.level, e.item_code, i.class_code, i.default_level, i.time_limit_h,
       i.time_limit_unit,
       e.grid_code, e.community_code, e.street_code, e.source, e.reporter, e.due_at,
       e.reported_at, e.worker_id
FROM event e JOIN event_item i ON i.code = e.item_code
WHERE e.id = :id
FOR UPDATE OF e;
-- name: lock_overdue
-- Overdue open events below the district level; rows another run holds are skipped, so two
-- concurrent runs never escalate the same event twice.
SELECT e.id, e.status, e.level, e.item_code, i.class_code, i.default_level, i.time_limit_h,
       i.time_limit_unit,
       e.grid_code, e.community_code, e.street_code, e.source, e.reporter, e.due_at,
       e.reported_at, e.worker_id
FROM event e JOIN event_item i ON i.code = e.item_code
WHERE e.status IN ('reported', 'accepted', 'dispatched', 'in_progress', 'reopened')
  AND e.level <> 'district' AND e.due_at IS NOT NULL AND e.due_at <= :now
ORDER BY e.due_at, e.id
LIMIT :limit
FOR UPDATE OF e SKIP LOCKED;
-- name: set_status
UPDATE event SET status = :to, updated_at = :now,
       closed_at = CASE WHEN :to IN ('closed', 'rejected', 'duplicate') THEN CAST(:now AS timestamptz)
                        WHEN :to = 'reopened' THEN NULL ELSE closed_at END
WHERE id = :id AND status = :from;
-- name: set_level
-- Conditional: only moves the event when it is still at the level the caller saw.
UPDATE event SET level = :to_level, due_at = :due, updated_at = :now
WHERE id = :id AND level = :from_level;
-- name: history
INSERT INTO event_history (event_id, at, action, from_status, to_status, actor, note, geom, data)
VALUES (:id, :at, :action, :from_status, :to_status, :actor, :note,
        CASE WHEN CAST(:lon AS float8) IS NULL THEN NULL
             ELSE ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) END,
        CAST(:data AS jsonb));
-- name: was_overdue
SELECT EXISTS (SELECT 1 FROM event_history WHERE event_id = :id AND action = 'escalated'
               AND data ->> 'reason' = 'overdue');
-- name: award_points
INSERT INTO resident_points (reporter, event_id, points, awarded_at)
VALUES (:reporter, :id, :points, :at) ON CONFLICT (event_id) DO NOTHING;
-- name: revoke_points
DELETE FROM resident_points WHERE event_id = :id;
-- name: duplicate_links
SELECT d.event_id, d.original_id, d.distance_m, d.gap_s, d.status, d.created_at,
       d.decided_at, d.decided_by, e.item_code, e.status AS event_status,
       o.status AS original_status, e.grid_code
FROM event_duplicate d JOIN event e ON e.id = d.event_id JOIN event o ON o.id = d.original_id
WHERE (CAST(:status AS text) IS NULL OR d.status = :status)
  AND (CAST(:event_id AS bigint) IS NULL OR d.event_id = :event_id OR d.original_id = :event_id)
  -- only the links a caller may see: both events' grids in their area
  AND in_scope(e.grid_code, CAST(:scope_prefixes AS text[]))
  AND in_scope(o.grid_code, CAST(:scope_prefixes AS text[]))
ORDER BY d.created_at DESC, d.event_id DESC
LIMIT :limit;
-- name: link_duplicate
INSERT INTO event_duplicate (event_id, original_id, distance_m, gap_s, status, decided_at,
                             decided_by)
SELECT n.id, o.id, COALESCE(ST_Distance(n.geom::geography, o.geom::geography), 0),
       abs(extract(epoch FROM n.reported_at - o.reported_at)), :status, :at, :actor
FROM event n, event o WHERE n.id = :event_id AND o.id = :original_id
ON CONFLICT (event_id, original_id) DO UPDATE
SET status = EXCLUDED.status, decided_at = EXCLUDED.decided_at, decided_by = EXCLUDED.decided_by;
-- name: bulk_new_events
-- Bulk duplicate linking (gis.workflow.duplicates.link_bulk), for loads that switch the per-row trigger
-- off: the trigger's rule applied to every event after @after at once. Narrow, spatially
-- ordered copies of the new events and of the open ones keep each probe on a few pages
-- (about ten times faster than probing the wide event table). Dropped by the caller in the
-- same transaction.
CREATE UNLOGGED TABLE bulk_dup_new AS
SELECT id, item_code, reported_at, geom FROM event
WHERE id > :after AND geom IS NOT NULL
ORDER BY ST_GeoHash(geom, 7);
-- name: bulk_open_events
CREATE UNLOGGED TABLE bulk_dup_open AS
SELECT e.id, e.item_code, e.reported_at, e.geom
FROM event e, duplicate_config cfg,
     (SELECT min(reported_at) AS t0, max(reported_at) AS t1 FROM bulk_dup_new) r
WHERE cfg.id = 1 AND e.geom IS NOT NULL
  AND e.status IN ('reported', 'accepted', 'dispatched', 'in_progress', 'resolved', 'reopened')
  AND e.reported_at BETWEEN r.t0 - make_interval(secs => cfg.window_h * 3600)
                        AND r.t1 + make_interval(secs => cfg.window_h * 3600)
ORDER BY ST_GeoHash(e.geom, 7);
-- name: bulk_open_events_index
CREATE INDEX ON bulk_dup_open USING gist (geom);
-- name: bulk_link
-- Each new report linked to the nearest earlier open report of the same item within the
-- distance and time window (the earliest on a tie), exactly as event_duplicate_detect does.
INSERT INTO event_duplicate (event_id, original_id, distance_m, gap_s)
SELECT n.id, o.id, o.d, abs(extract(epoch FROM n.reported_at - o.reported_at))
FROM duplicate_config cfg
CROSS JOIN bulk_dup_new n
CROSS JOIN LATERAL (
    SELECT o.id, o.reported_at, ST_Distance(o.geom::geography, n.geom::geography, false) AS d
    FROM bulk_dup_open o
    WHERE o.geom && ST_Expand(n.geom,
                              cfg.distance_m / 110000.0 * 1.01
                                  / greatest(cos(radians(ST_Y(n.geom))), 0.01),
                              cfg.distance_m / 110000.0 * 1.01)
      AND o.id < n.id AND o.item_code = n.item_code
      -- the time window as a filter on the GiST candidates, not a second index scan
      AND abs(extract(epoch FROM o.reported_at - n.reported_at)) <= cfg.window_h * 3600
      AND ST_DWithin(o.geom::geography, n.geom::geography, cfg.distance_m, false)
    ORDER BY d, o.reported_at, o.id
    LIMIT 1
) o
WHERE cfg.id = 1 AND cfg.enabled
ON CONFLICT DO NOTHING;
-- name: bulk_drop
DROP TABLE bulk_dup_new, bulk_dup_open;
-- name: dispatch_for_update
-- One dispatch record with its event, both locked (an acknowledgement writes history).
SELECT d.id, d.event_id, d.at, d.kind, d.level, d.area_code, d.department, d.acknowledged_at,
       e.status, e.grid_code
FROM event_dispatch d JOIN event e ON e.id = d.event_id
WHERE d.id = :id
FOR UPDATE OF d, e;
-- name: acknowledge
UPDATE event_dispatch SET acknowledged_at = :at WHERE id = :id AND acknowledged_at IS NULL;
-- name: notifications
-- Department notifications, newest first; @department limits to one department, @pending to
-- unacknowledged ones, @scope_prefixes (NULL = all) to events whose grid starts with one
-- (in_scope, migration 0006).
SELECT d.id, d.event_id, d.at, d.level, d.area_code, d.department, d.actor, d.note,
       d.acknowledged_at, e.item_code, e.status, e.grid_code
FROM event_dispatch d JOIN event e ON e.id = d.event_id
WHERE d.department IS NOT NULL
  AND (CAST(:department AS text) IS NULL OR d.department = :department)
  AND (NOT CAST(:pending AS boolean) OR d.acknowledged_at IS NULL)
  AND in_scope(e.grid_code, CAST(:scope_prefixes AS text[]))
ORDER BY d.at DESC, d.id DESC
LIMIT :limit;
-- name: district_of_street
-- The district of a street (its newest generation's row).
SELECT district_code FROM street WHERE code = :s ORDER BY generation_id DESC LIMIT 1;
-- name: insert_dispatch
-- One handling record (@d NULL) or one department notification (gis.workflow.dispatch.record).
INSERT INTO event_dispatch (event_id, at, kind, level, area_code, department, actor, note)
VALUES (:e, :at, :k, :lv, :a, :d, :actor, :note);
-- name: item_rule
SELECT class_code, default_level, time_limit_h, time_limit_unit FROM event_item WHERE code = :c;
-- name: analyze_event
ANALYZE event;
-- name: analyze_bulk_dup
ANALYZE bulk_dup_new; ANALYZE bulk_dup_open;
-- name: duplicate_config
SELECT distance_m, window_h, enabled FROM duplicate_config WHERE id = 1;
-- name: set_duplicate_config
-- NULL keeps a value.
UPDATE duplicate_config SET distance_m = COALESCE(:d, distance_m),
    window_h = COALESCE(:w, window_h), enabled = COALESCE(:e, enabled)
WHERE id = 1;
-- name: event_grid
SELECT grid_code FROM event WHERE id = :i;
-- name: dismiss_link
UPDATE event_duplicate SET status = 'dismissed', decided_at = :at, decided_by = :by
WHERE event_id = :e AND original_id = :o AND status = 'possible';
-- name: is_grid_leader
SELECT EXISTS (SELECT 1 FROM grid_role r JOIN worker w ON w.id = r.worker_id
               WHERE w.code = :w AND r.area_code = :g AND r.role = 'grid_leader'
                 AND r.valid_from <= :at AND (r.valid_to IS NULL OR r.valid_to > :at));
-- name: possible_originals
SELECT original_id FROM event_duplicate WHERE event_id = :e AND status = 'possible';
-- name: original_event
SELECT id, status, grid_code FROM event WHERE id = :i;
-- name: event_summary
SELECT id, status, level, due_at, grid_code, community_code, street_code, item_code
FROM event WHERE id = :i;
-- name: overdue
-- Open events (@st: the escalatable statuses) past their due time, within the area prefixes @a.
SELECT id, item_code, status, level, grid_code, due_at,
       extract(epoch FROM :now - due_at) / 3600 AS hours_over
FROM event
WHERE status = ANY(:st) AND due_at <= :now AND in_scope(grid_code, CAST(:a AS text[]))
ORDER BY due_at;
