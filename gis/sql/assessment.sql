-- name: event_figures
-- One row per event with something to count in [:start, :end):
--   found    reported in the period
--   handled  first resolved in the period; within = that resolution was on time and the
--            event had never been escalated for being overdue
--   overdue  escalated for being overdue in the period, or resolved late in the period, or
--            still open (unresolved) with its due time in the period
WITH res AS (
    SELECT DISTINCT ON (h.event_id) h.event_id, h.at,
           COALESCE((h.data ->> 'within_limit')::boolean, false) AS within
    FROM event_history h WHERE h.action = 'resolve'
    ORDER BY h.event_id, h.at, h.id
), esc AS (
    SELECT DISTINCT h.event_id FROM event_history h
    WHERE h.action = 'escalated' AND h.data ->> 'reason' = 'overdue'
      AND h.at >= :start AND h.at < :end
), f AS (
    SELECT e.id, e.grid_code, e.worker_id, e.source, e.reporter,
           (e.reported_at >= :start AND e.reported_at < :end) AS found,
           COALESCE(res.at >= :start AND res.at < :end, false) AS handled,
           COALESCE(res.at >= :start AND res.at < :end AND res.within, false) AS within,
           (esc.event_id IS NOT NULL
            OR COALESCE(res.at >= :start AND res.at < :end AND NOT res.within, false)
            OR (res.event_id IS NULL
                AND e.status IN ('reported', 'accepted', 'dispatched', 'in_progress', 'reopened')
                AND e.due_at >= :start AND e.due_at < :end)) AS overdue
    FROM event e LEFT JOIN res ON res.event_id = e.id LEFT JOIN esc ON esc.event_id = e.id
)
SELECT f.*, w.code AS worker FROM f LEFT JOIN worker w ON w.id = f.worker_id
WHERE f.found OR f.handled OR f.overdue;
-- name: resident_points
SELECT reporter, count(*) AS accepted_reports, sum(points) AS points
FROM resident_points WHERE awarded_at >= :start AND awarded_at < :end
GROUP BY reporter ORDER BY sum(points) DESC, reporter;
-- name: workers
SELECT id, code FROM worker ORDER BY code;
