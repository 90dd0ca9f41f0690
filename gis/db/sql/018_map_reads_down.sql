CREATE UNIQUE INDEX event_tally_key_plain ON event_tally (hours, bucket, ix, iy, grid_code)
    NULLS NOT DISTINCT;
DROP INDEX event_tally_key;
ALTER INDEX event_tally_key_plain RENAME TO event_tally_key;

CREATE INDEX event_open_reported_plain ON event (reported_at)
    WHERE status IN ('reported', 'accepted', 'dispatched', 'in_progress', 'resolved', 'reopened');
DROP INDEX event_open_reported;
ALTER INDEX event_open_reported_plain RENAME TO event_open_reported;
