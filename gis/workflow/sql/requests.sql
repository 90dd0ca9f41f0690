-- name: open_requests
-- Requests to escalate (history rows 'ask_escalate') of open events (@open) the caller may
-- read (visible_events with @scope_prefixes, @scope_department) that no escalation or
-- whistle followed yet; newest first, at most @limit.
SELECT h.id, h.event_id, h.at, h.actor, h.note, e.item_code AS item,
       COALESCE(i.name_zh, i.name) AS item_name, e.status, e.level, e.grid_code AS grid,
       e.due_at
FROM visible_events(CAST(:scope_prefixes AS text[]), CAST(:scope_department AS text)) e
JOIN event_history h ON h.event_id = e.id AND h.action = 'ask_escalate'
JOIN event_item i ON i.code = e.item_code
WHERE e.status = ANY(CAST(:open AS text[]))
  AND NOT EXISTS (SELECT 1 FROM event_history x
                  WHERE x.event_id = e.id AND x.action IN ('escalated', 'whistle')
                    AND x.id > h.id)
ORDER BY h.at DESC, h.id DESC
LIMIT :limit;
