DROP TRIGGER IF EXISTS event_due_insert ON event;
DROP TRIGGER IF EXISTS event_due_delete ON event;
DROP TRIGGER IF EXISTS event_due_update ON event;
DROP TRIGGER IF EXISTS event_due_truncate ON event;
DROP FUNCTION IF EXISTS event_due_note(), event_due_change(), event_due_truncate();

DROP FUNCTION event_tally_compact();
ALTER FUNCTION event_tally_compact_counts() RENAME TO event_tally_compact;
DROP FUNCTION event_tally_rebuild();
ALTER FUNCTION event_tally_rebuild_counts() RENAME TO event_tally_rebuild;

DROP FUNCTION IF EXISTS event_due_compact(), event_due_rebuild();
DROP TABLE IF EXISTS event_due_tally, event_due_delta;
