-- The live map's overdue count kept as events change, so the district's count no longer walks
-- every open event of its window (52,700 of them in a 30-day window of 10 M stored events).
-- event_due_tally counts the open events with a time limit by the hour they were reported and
-- the hour they fall due (UTC); the count of a window [since, until) at time T is its whole
-- report hours' rows due before the hour of T, plus, one by one, the open events of the
-- window's partial report hours and those falling due in T's own hour before T
-- (gis/oversight/sql/dashboard.sql, summary_overdue_last with @kept). The rows are few: an
-- hour's open events share a handful of due hours (one per time limit).
-- Inserts and deletes append their grouped changes to event_due_delta at the end of each
-- statement; an update appends one change per row whose status, report time or due time
-- changed (so the activation, which moves 1 M events to new grids, appends nothing);
-- event_tally_compact() folds them with the rest of the live map's counts.

CREATE TABLE event_due_tally (
    rep_hour  timestamptz NOT NULL,
    due_hour  timestamptz NOT NULL,
    n_open    bigint NOT NULL
);
CREATE UNIQUE INDEX event_due_tally_key ON event_due_tally (rep_hour, due_hour) INCLUDE (n_open);

CREATE TABLE event_due_delta (
    rep_hour  timestamptz NOT NULL,
    due_hour  timestamptz NOT NULL,
    n_open    bigint NOT NULL
);
CREATE INDEX event_due_delta_rep ON event_due_delta (rep_hour);

-- Fold the appended changes into event_due_tally (rows folded); rows back at zero go.
CREATE FUNCTION event_due_compact() RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
    folded bigint;
BEGIN
    WITH d AS (DELETE FROM event_due_delta RETURNING *),
    s AS (SELECT rep_hour, due_hour, sum(n_open) AS n_open, count(*) AS k
          FROM d GROUP BY rep_hour, due_hour),
    up AS (
        INSERT INTO event_due_tally AS t (rep_hour, due_hour, n_open)
        SELECT rep_hour, due_hour, n_open FROM s
        ON CONFLICT (rep_hour, due_hour) DO UPDATE SET n_open = t.n_open + excluded.n_open
        RETURNING 1)
    SELECT COALESCE(sum(k), 0) INTO folded FROM s;
    DELETE FROM event_due_tally WHERE n_open = 0;
    RETURN folded;
END
$fn$;

-- Recount event_due_tally from every event.
CREATE FUNCTION event_due_rebuild() RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
    rows bigint;
BEGIN
    DELETE FROM event_due_delta;
    DELETE FROM event_due_tally;
    INSERT INTO event_due_tally (rep_hour, due_hour, n_open)
    SELECT date_trunc('hour', e.reported_at, 'UTC'), date_trunc('hour', e.due_at, 'UTC'),
           count(*)
    FROM event e
    WHERE e.due_at IS NOT NULL AND event_tally_open(e.status)
    GROUP BY 1, 2;
    GET DIAGNOSTICS rows = ROW_COUNT;
    RETURN rows;
END
$fn$;

-- The live map's fold and recount now take the due counts along (same lock, same call).
ALTER FUNCTION event_tally_compact() RENAME TO event_tally_compact_counts;
CREATE FUNCTION event_tally_compact() RETURNS bigint
LANGUAGE plpgsql AS $fn$
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('event_tally_compact')) THEN
        RETURN 0;
    END IF;
    RETURN event_tally_compact_counts() + event_due_compact();
END
$fn$;

ALTER FUNCTION event_tally_rebuild() RENAME TO event_tally_rebuild_counts;
CREATE FUNCTION event_tally_rebuild() RETURNS bigint
LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('event_tally_compact'));
    RETURN event_tally_rebuild_counts() + event_due_rebuild();
END
$fn$;

-- Statement triggers for inserts and deletes: the open events with a time limit, grouped.
CREATE FUNCTION event_due_note() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO event_due_delta (rep_hour, due_hour, n_open)
        SELECT date_trunc('hour', r.reported_at, 'UTC'), date_trunc('hour', r.due_at, 'UTC'),
               count(*)
        FROM new_rows r WHERE r.due_at IS NOT NULL AND event_tally_open(r.status)
        GROUP BY 1, 2;
    ELSE
        INSERT INTO event_due_delta (rep_hour, due_hour, n_open)
        SELECT date_trunc('hour', r.reported_at, 'UTC'), date_trunc('hour', r.due_at, 'UTC'),
               -count(*)
        FROM old_rows r WHERE r.due_at IS NOT NULL AND event_tally_open(r.status)
        GROUP BY 1, 2;
    END IF;
    RETURN NULL;
END
$fn$;

-- Row trigger for updates that change what is counted: the old row out, the new row in.
CREATE FUNCTION event_due_change() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF OLD.due_at IS NOT NULL AND event_tally_open(OLD.status) THEN
        INSERT INTO event_due_delta (rep_hour, due_hour, n_open)
        VALUES (date_trunc('hour', OLD.reported_at, 'UTC'), date_trunc('hour', OLD.due_at, 'UTC'),
                -1);
    END IF;
    IF NEW.due_at IS NOT NULL AND event_tally_open(NEW.status) THEN
        INSERT INTO event_due_delta (rep_hour, due_hour, n_open)
        VALUES (date_trunc('hour', NEW.reported_at, 'UTC'), date_trunc('hour', NEW.due_at, 'UTC'),
                1);
    END IF;
    RETURN NULL;
END
$fn$;

CREATE TRIGGER event_due_insert AFTER INSERT ON event
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION event_due_note();
CREATE TRIGGER event_due_delete AFTER DELETE ON event
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION event_due_note();
CREATE TRIGGER event_due_update AFTER UPDATE OF status, reported_at, due_at ON event
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.reported_at IS DISTINCT FROM NEW.reported_at
          OR OLD.due_at IS DISTINCT FROM NEW.due_at)
    EXECUTE FUNCTION event_due_change();

CREATE FUNCTION event_due_truncate() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    -- DELETE, not TRUNCATE: the tables may be in the same TRUNCATE statement
    DELETE FROM event_due_tally;
    DELETE FROM event_due_delta;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER event_due_truncate AFTER TRUNCATE ON event
    FOR EACH STATEMENT EXECUTE FUNCTION event_due_truncate();

-- the counts of the events stored before this migration
SELECT event_due_rebuild();
