-- The live map's reads answered from indexes alone (index-only scans, no heap pages once
-- vacuum has marked them all-visible, as autovacuum does): event_tally's key carries the
-- counts, and the open backlog by report time carries the due time and the grid (overdue
-- counts of the window, scope). At 10 M stored events the window's ~70,000 tally rows and
-- ~50,000 open events otherwise cost one scattered heap page each.
CREATE UNIQUE INDEX event_tally_key_counts ON event_tally (hours, bucket, ix, iy, grid_code)
    INCLUDE (n, n_open) NULLS NOT DISTINCT;
DROP INDEX event_tally_key;
ALTER INDEX event_tally_key_counts RENAME TO event_tally_key;

CREATE INDEX event_open_reported_due ON event (reported_at) INCLUDE (due_at, grid_code)
    WHERE status IN ('reported', 'accepted', 'dispatched', 'in_progress', 'resolved', 'reopened');
DROP INDEX event_open_reported;
ALTER INDEX event_open_reported_due RENAME TO event_open_reported;
