-- name: tasks
-- A caller's task list (gis.workflow.tasks): the events it may read (visible_events with
-- @scope_prefixes, @scope_department), of statuses @statuses, and either (@worker given)
-- whose responsible worker is @worker, or (@level given) at level @level, or (@actor given)
-- with a history row written by @actor. Newest change first, @limit from @offset; the one
-- row with a NULL id carries the total when the page is empty.
WITH m AS (
    SELECT e.*
    FROM visible_events(CAST(:scope_prefixes AS text[]), CAST(:scope_department AS text)) e
    WHERE e.status = ANY(CAST(:statuses AS text[]))
      AND (CAST(:worker AS text) IS NULL
           OR e.worker_id = (SELECT w.id FROM worker w WHERE w.code = :worker))
      AND (CAST(:level AS text) IS NULL OR e.level = :level)
      AND (CAST(:actor AS text) IS NULL
           OR EXISTS (SELECT 1 FROM event_history h WHERE h.event_id = e.id AND h.actor = :actor))
), page AS (
    SELECT m.* FROM m ORDER BY m.updated_at DESC, m.id DESC LIMIT :limit OFFSET :offset
)
SELECT (SELECT count(*) FROM m) AS total,
       p.id, p.uid, p.item_code AS item, COALESCE(i.name_zh, i.name) AS item_name,
       i.class_code AS class, p.status, p.level, p.reported_at, p.due_at,
       COALESCE(p.due_at < now() AND p.status = ANY(CAST(:open AS text[])), false) AS overdue,
       p.description, p.address, p.grid_code AS grid, p.unit_code AS unit,
       ST_X(p.geom) AS lon, ST_Y(p.geom) AS lat, p.source, p.updated_at,
       EXISTS (SELECT 1 FROM grid_role r JOIN worker w ON w.id = r.worker_id
               WHERE w.code = CAST(:me AS text) AND r.area_code = p.grid_code
                 AND r.role = 'grid_leader' AND r.valid_from <= now()
                 AND (r.valid_to IS NULL OR r.valid_to > now())) AS leads_grid
FROM (SELECT 1) AS one
LEFT JOIN page p ON true
LEFT JOIN event_item i ON i.code = p.item_code
ORDER BY p.updated_at DESC, p.id DESC;
