-- name: enqueue
-- One outbox row per alert created since @since and webhook target in @targets (a target
-- added later does not replay older alerts); rows already there are kept as they are.
INSERT INTO alert_delivery (alert_id, target, next_at)
SELECT a.id, t.target, a.created_at
FROM alert a CROSS JOIN unnest(CAST(:targets AS text[])) AS t (target)
WHERE a.created_at >= :since
ON CONFLICT (alert_id, target) DO NOTHING;
-- name: claim
-- Due, undelivered rows of the targets @targets, oldest first; a concurrent worker skips them.
SELECT d.alert_id, d.target, d.attempts, a.kind, a.event_id, a.level, a.area_code,
       a.grid_code, a.payload, a.created_at
FROM alert_delivery d JOIN alert a ON a.id = d.alert_id
WHERE d.delivered_at IS NULL AND d.next_at <= :now
  AND d.target = ANY(CAST(:targets AS text[]))
ORDER BY d.next_at, d.alert_id
LIMIT :batch
FOR UPDATE OF d SKIP LOCKED;
-- name: delivered
UPDATE alert_delivery SET delivered_at = :now, attempts = attempts + 1, last_error = NULL
WHERE alert_id = :alert_id AND target = :target;
-- name: failed
UPDATE alert_delivery SET attempts = attempts + 1, next_at = :next_at, last_error = :error
WHERE alert_id = :alert_id AND target = :target;
-- name: recent
-- Alerts after id @after_id of events the caller may read (visible_events with
-- @scope_prefixes, @scope_department) at one of the levels @levels, oldest first.
SELECT a.id, a.kind, a.event_id, a.level, a.area_code, a.grid_code, a.payload, a.created_at
FROM alert a
JOIN visible_events(CAST(:scope_prefixes AS text[]), CAST(:scope_department AS text)) e
  ON e.id = a.event_id
WHERE a.id > :after_id AND a.level = ANY(CAST(:levels AS text[]))
ORDER BY a.id
LIMIT :limit;
-- name: last_id
SELECT COALESCE(max(id), 0) FROM alert;
