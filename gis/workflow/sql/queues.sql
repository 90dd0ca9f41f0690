-- The dispatcher workbench's queues (gis.workflow.queues): each reads only the events the
-- caller may see (visible_events with @scope_prefixes, @scope_department; migration 0007),
-- gives one row shape and the queue's full size (total), at most @limit rows.

-- name: queue_new
-- Reported, not yet accepted; oldest first.
SELECT e.id, e.item_code AS item, COALESCE(i.name_zh, i.name) AS item_name, e.status,
       e.level, e.grid_code AS grid, e.reported_at, e.due_at,
       COALESCE(e.due_at <= :now, false) AS overdue, count(*) OVER () AS total
FROM visible_events(CAST(:scope_prefixes AS text[]), CAST(:scope_department AS text)) e
JOIN event_item i ON i.code = e.item_code
WHERE e.status = 'reported'
ORDER BY e.reported_at, e.id
LIMIT :limit;

-- name: queue_unassigned
-- Open events located outside the district or in no grid (unassigned); oldest first.
SELECT e.id, e.item_code AS item, COALESCE(i.name_zh, i.name) AS item_name, e.status,
       e.level, e.grid_code AS grid, e.reported_at, e.due_at,
       COALESCE(e.due_at <= :now, false) AS overdue, count(*) OVER () AS total
FROM visible_events(CAST(:scope_prefixes AS text[]), CAST(:scope_department AS text)) e
JOIN event_item i ON i.code = e.item_code
WHERE e.location_status IN ('unassigned', 'outside')
  AND e.status = ANY(CAST(:open AS text[]))
ORDER BY e.reported_at, e.id
LIMIT :limit;

-- name: queue_duplicates
-- Events with a possible-duplicate link not yet decided, both events readable; newest first.
SELECT e.id, e.item_code AS item, COALESCE(i.name_zh, i.name) AS item_name, e.status,
       e.level, e.grid_code AS grid, e.reported_at, e.due_at,
       COALESCE(e.due_at <= :now, false) AS overdue, count(*) OVER () AS total
FROM visible_events(CAST(:scope_prefixes AS text[]), CAST(:scope_department AS text)) e
JOIN event_item i ON i.code = e.item_code
WHERE EXISTS (SELECT 1 FROM event_duplicate d JOIN event o ON o.id = d.original_id
              WHERE d.event_id = e.id AND d.status = 'possible'
                AND in_scope(o.grid_code, CAST(:scope_prefixes AS text[])))
ORDER BY e.reported_at DESC, e.id DESC
LIMIT :limit;

-- name: queue_overdue
-- Open events past their due time at @now; most overdue first.
SELECT e.id, e.item_code AS item, COALESCE(i.name_zh, i.name) AS item_name, e.status,
       e.level, e.grid_code AS grid, e.reported_at, e.due_at, true AS overdue,
       count(*) OVER () AS total
FROM visible_events(CAST(:scope_prefixes AS text[]), CAST(:scope_department AS text)) e
JOIN event_item i ON i.code = e.item_code
WHERE e.status = ANY(CAST(:open AS text[])) AND e.due_at <= :now
ORDER BY e.due_at, e.id
LIMIT :limit;

-- name: queue_escalated
-- Open events whose current level is @level (the caller's) and above the grid; by due time.
SELECT e.id, e.item_code AS item, COALESCE(i.name_zh, i.name) AS item_name, e.status,
       e.level, e.grid_code AS grid, e.reported_at, e.due_at,
       COALESCE(e.due_at <= :now, false) AS overdue, count(*) OVER () AS total
FROM visible_events(CAST(:scope_prefixes AS text[]), CAST(:scope_department AS text)) e
JOIN event_item i ON i.code = e.item_code
WHERE e.status = ANY(CAST(:open AS text[])) AND e.level = :level AND e.level <> 'grid'
ORDER BY e.due_at NULLS LAST, e.id
LIMIT :limit;

-- name: queue_requests
-- Open events with a request to escalate (ask_escalate) that no escalation or whistle
-- followed; newest request first, one row per event.
SELECT e.id, e.item_code AS item, COALESCE(i.name_zh, i.name) AS item_name, e.status,
       e.level, e.grid_code AS grid, e.reported_at, e.due_at,
       COALESCE(e.due_at <= :now, false) AS overdue, count(*) OVER () AS total
FROM visible_events(CAST(:scope_prefixes AS text[]), CAST(:scope_department AS text)) e
JOIN event_item i ON i.code = e.item_code
JOIN LATERAL (SELECT max(h.id) AS id FROM event_history h
              WHERE h.event_id = e.id AND h.action = 'ask_escalate') r ON r.id IS NOT NULL
WHERE e.status = ANY(CAST(:open AS text[]))
  AND NOT EXISTS (SELECT 1 FROM event_history x
                  WHERE x.event_id = e.id AND x.action IN ('escalated', 'whistle')
                    AND x.id > r.id)
ORDER BY r.id DESC
LIMIT :limit;

-- name: event_detail
-- One event the caller may read (visible_events), with its item's name and the responsible
-- worker (event.worker_id) and that worker's phone; no row outside the caller's area.
SELECT e.id, e.item_code AS item, COALESCE(i.name_zh, i.name) AS item_name, e.status,
       e.level, e.grid_code AS grid, e.reported_at, e.due_at, e.description, e.address,
       e.location_status, ST_X(e.geom) AS lon, ST_Y(e.geom) AS lat,
       w.code AS worker_code, w.name AS worker_name, w.phone AS worker_phone
FROM visible_events(CAST(:scope_prefixes AS text[]), CAST(:scope_department AS text)) e
JOIN event_item i ON i.code = e.item_code
LEFT JOIN worker w ON w.id = e.worker_id
WHERE e.id = :id;

-- name: event_history
-- The full history of one event (@id), oldest first, with the level it was sent or moved to
-- and the departments notified (from the step's data: dispatch, escalation, whistle, ack).
SELECT at, action, from_status, to_status, actor, note,
       COALESCE(data ->> 'to_level', data ->> 'level') AS level,
       ARRAY(SELECT jsonb_array_elements_text(CASE jsonb_typeof(data -> 'departments')
                 WHEN 'array' THEN data -> 'departments' ELSE '[]' END)
             UNION ALL SELECT data ->> 'department' WHERE data ->> 'department' IS NOT NULL
            ) AS departments
FROM event_history
WHERE event_id = :id ORDER BY at, id;
