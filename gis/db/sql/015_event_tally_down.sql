DROP TRIGGER IF EXISTS event_tally_insert ON event;
DROP TRIGGER IF EXISTS event_tally_update ON event;
DROP TRIGGER IF EXISTS event_tally_delete ON event;
DROP TRIGGER IF EXISTS event_tally_truncate ON event;
DROP FUNCTION IF EXISTS event_tally_note(), event_tally_truncate(), event_tally_compact(),
    event_tally_rebuild(), event_tally_cell(double precision), event_tally_open(text);
DROP INDEX IF EXISTS event_open_due, event_open_reported;
DROP TABLE IF EXISTS event_tally, event_tally_delta;
