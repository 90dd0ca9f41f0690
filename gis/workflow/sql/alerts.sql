-- name: unregistered
-- The webhook targets of @targets not registered yet (their outbox rows start at registration).
SELECT t.name FROM unnest(CAST(:targets AS text[])) AS t (name)
WHERE NOT EXISTS (SELECT 1 FROM alert_target r WHERE r.name = t.name)
ORDER BY t.name;
-- name: lock_alerts
-- Registration waits for the transactions writing alerts now and holds new ones until it
-- commits: an alert is then either seen by the back-fill or fanned out by the trigger.
LOCK TABLE alert IN SHARE MODE;
-- name: register
-- Register target @target at @now; no row back when a concurrent round registered it first.
INSERT INTO alert_target (name, registered_at) VALUES (:target, :now)
ON CONFLICT (name) DO NOTHING
RETURNING name;
-- name: backfill
-- Queue for the new target @target every alert created since @since; count those before.
WITH queued AS (
    INSERT INTO alert_delivery (alert_id, target, next_at)
    SELECT a.id, :target, a.created_at FROM alert a WHERE a.created_at >= :since
    ON CONFLICT (alert_id, target) DO NOTHING
    RETURNING 1
)
SELECT (SELECT count(*) FROM queued) AS queued,
       (SELECT count(*) FROM alert WHERE created_at < :since) AS skipped;
-- name: claim
-- One due, undelivered row of the targets @targets, oldest first; the row stays locked until
-- its outcome is recorded, and a concurrent round skips it (it sees it delivered after).
SELECT d.alert_id, d.target, d.attempts, a.kind, a.event_id, a.level, a.area_code,
       a.grid_code, a.payload, a.created_at
FROM alert_delivery d JOIN alert a ON a.id = d.alert_id
WHERE d.delivered_at IS NULL AND d.next_at <= :now
  AND d.target = ANY(CAST(:targets AS text[]))
ORDER BY d.next_at, d.alert_id
LIMIT 1
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
