-- name: fold
-- Fold the count changes the event triggers appended (event_tally_delta, event_due_delta) into
-- the live map's kept counts; 0 when another session is folding (rows folded). Called by the
-- dashboard's periodic fold and, right after its commit, by an activation or rollback, so that
-- no report's statement folds what they appended (at city scale a second of intake's commit).
SELECT event_tally_compact();
