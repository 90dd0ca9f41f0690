-- name: event_figures
-- One row per event with something to count in [@start, @end):
--   found    reported in the period
--   handled  first resolved in the period; within = that resolution was on time and the
--            event had never been escalated for being overdue
--   overdue  escalated for being overdue in the period, or resolved late in the period, or
--            still open at the end of the period (as the history says, not as the event is
--            today) with the due time it had then already past
-- The state at @end comes from event_history: the newest status change before @end (the
-- intake row 'reported' is left out: it is written at receipt, possibly after transitions
-- replayed with an earlier clock, and any event reported before @end was at least
-- 'reported'); the due time at @end is the newest due_at set before @end by a dispatch, an
-- escalation or a whistle, else the one set at intake (kept in the 'reported' row's data;
-- for an event stored before it was kept there, the event's due_at while no later one was
-- set). Every due time was worked out once, when it was set, by gis.calendar.due_at in the
-- limit's own unit (clock hours, or working hours / days of the district calendar): nothing
-- here does time arithmetic. Re-running a past month gives the same figures whatever
-- happened since.
WITH res AS (
    SELECT DISTINCT ON (h.event_id) h.event_id, h.at,
           COALESCE((h.data ->> 'within_limit')::boolean, false) AS within
    FROM event_history h WHERE h.action = 'resolve'
    ORDER BY h.event_id, h.at, h.id
), esc AS (
    SELECT DISTINCT h.event_id FROM event_history h
    WHERE h.action = 'escalated' AND h.data ->> 'reason' = 'overdue'
      AND h.at >= :start AND h.at < :end
), status_end AS (
    SELECT DISTINCT ON (h.event_id) h.event_id, h.to_status
    FROM event_history h
    WHERE h.at < :end AND h.to_status IS NOT NULL AND h.action <> 'reported'
    ORDER BY h.event_id, h.at DESC, h.id DESC
), due_end AS (
    SELECT DISTINCT ON (h.event_id) h.event_id, (h.data ->> 'due_at')::timestamptz AS due_at
    FROM event_history h
    WHERE h.at < :end AND h.action IN ('dispatch', 'escalated', 'whistle')
      AND h.data ->> 'due_at' IS NOT NULL
    ORDER BY h.event_id, h.at DESC, h.id DESC
), due_in AS (
    SELECT h.event_id, (h.data ->> 'due_at')::timestamptz AS due_at
    FROM event_history h
    WHERE h.action = 'reported' AND h.data ->> 'due_at' IS NOT NULL
), due_set AS (
    SELECT DISTINCT h.event_id FROM event_history h
    WHERE h.action IN ('dispatch', 'escalated', 'whistle') AND h.data ->> 'due_at' IS NOT NULL
), f AS (
    SELECT e.id, e.grid_code, e.community_code, e.street_code, e.worker_id, e.source,
           e.reporter, (e.reported_at >= :start AND e.reported_at < :end) AS found,
           COALESCE(res.at >= :start AND res.at < :end, false) AS handled,
           COALESCE(res.at >= :start AND res.at < :end AND res.within, false) AS within,
           (esc.event_id IS NOT NULL
            OR COALESCE(res.at >= :start AND res.at < :end AND NOT res.within, false)
            OR (e.reported_at < :end
                AND COALESCE(se.to_status, 'reported')
                    IN ('reported', 'accepted', 'dispatched', 'in_progress', 'reopened')
                AND COALESCE(de.due_at, di.due_at,
                             CASE WHEN ds.event_id IS NULL THEN e.due_at END) < :end)) AS overdue
    FROM event e
    LEFT JOIN res ON res.event_id = e.id
    LEFT JOIN esc ON esc.event_id = e.id
    LEFT JOIN status_end se ON se.event_id = e.id
    LEFT JOIN due_end de ON de.event_id = e.id
    LEFT JOIN due_in di ON di.event_id = e.id
    LEFT JOIN due_set ds ON ds.event_id = e.id
)
SELECT f.*, w.code AS worker FROM f LEFT JOIN worker w ON w.id = f.worker_id
WHERE f.found OR f.handled OR f.overdue;
-- name: indicators
-- The standard indicators' events in [@start, @end) (definitions: gis.oversight.assessment):
-- opened = first accepted in the period; closed = closed in the period, on time when the
-- last resolution before its last close in the period was within the limit; reopened =
-- reopened in the period.
WITH acc AS (
    SELECT DISTINCT ON (h.event_id) h.event_id, h.at FROM event_history h
    WHERE h.action = 'accept' ORDER BY h.event_id, h.at, h.id
), clo AS (
    SELECT DISTINCT ON (h.event_id) h.event_id, h.at FROM event_history h
    WHERE h.action = 'close' AND h.at >= :start AND h.at < :end
    ORDER BY h.event_id, h.at DESC, h.id DESC
), reo AS (
    SELECT DISTINCT h.event_id FROM event_history h
    WHERE h.action = 'reopen' AND h.at >= :start AND h.at < :end
)
SELECT e.id, e.grid_code, e.community_code, e.street_code, w.code AS worker,
       COALESCE(acc.at >= :start AND acc.at < :end, false) AS opened,
       clo.event_id IS NOT NULL AS closed,
       COALESCE(clo.event_id IS NOT NULL AND r.within, false) AS closed_on_time,
       reo.event_id IS NOT NULL AS reopened
FROM event e
LEFT JOIN acc ON acc.event_id = e.id
LEFT JOIN clo ON clo.event_id = e.id
LEFT JOIN reo ON reo.event_id = e.id
LEFT JOIN LATERAL (
    SELECT COALESCE((h.data ->> 'within_limit')::boolean, false) AS within
    FROM event_history h
    WHERE h.event_id = e.id AND h.action = 'resolve' AND h.at <= clo.at
    ORDER BY h.at DESC, h.id DESC LIMIT 1
) r ON true
LEFT JOIN worker w ON w.id = e.worker_id
WHERE COALESCE(acc.at >= :start AND acc.at < :end, false) OR clo.event_id IS NOT NULL
   OR reo.event_id IS NOT NULL;
-- name: resident_points
SELECT reporter, count(*) AS accepted_reports, sum(points) AS points
FROM resident_points WHERE awarded_at >= :start AND awarded_at < :end
GROUP BY reporter ORDER BY sum(points) DESC, reporter;
-- name: workers
SELECT id, code FROM worker ORDER BY code;
