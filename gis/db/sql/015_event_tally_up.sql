-- The live map's counts kept as events arrive: events per hour and per day (UTC), per square
-- cell of the zoom-13 heat bins (315/65536 degree: floor(lon / cell), floor(lat / cell); any
-- coarser zoom's bin is the cell index shifted right) and per grid; total and open. The map
-- sums the whole days and whole hours of its window from here and counts only the events of
-- the window's partial hours one by one, so its cost no longer grows with events stored.
-- Writers never wait on each other: the triggers append signed changes to event_tally_delta;
-- event_tally_compact() folds them into event_tally (readers sum both).
-- The open statuses are those of gis/intake/events.py OPEN_STATUSES.

CREATE TABLE event_tally (
    bucket     timestamptz NOT NULL,
    hours      smallint NOT NULL CHECK (hours IN (1, 24)),
    ix         integer,
    iy         integer,
    grid_code  text,
    n          bigint NOT NULL,
    n_open     bigint NOT NULL
);
CREATE UNIQUE INDEX event_tally_key ON event_tally (hours, bucket, ix, iy, grid_code)
    NULLS NOT DISTINCT;

CREATE TABLE event_tally_delta (
    bucket     timestamptz NOT NULL,
    hours      smallint NOT NULL,
    ix         integer,
    iy         integer,
    grid_code  text,
    n          bigint NOT NULL,
    n_open     bigint NOT NULL
);
CREATE INDEX event_tally_delta_bucket ON event_tally_delta (hours, bucket);

-- the open backlog by due time and by report time (overdue counts and lists, any size)
CREATE INDEX event_open_due ON event (due_at, id)
    WHERE status IN ('reported', 'accepted', 'dispatched', 'in_progress', 'resolved', 'reopened');
CREATE INDEX event_open_reported ON event (reported_at)
    WHERE status IN ('reported', 'accepted', 'dispatched', 'in_progress', 'resolved', 'reopened');

-- the zoom-13 cell index of a coordinate (NULL without one)
CREATE FUNCTION event_tally_cell(v double precision) RETURNS integer
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT CAST(floor(v / (315.0 / 65536.0)) AS integer) $$;

CREATE FUNCTION event_tally_open(s text) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT s IN ('reported', 'accepted', 'dispatched', 'in_progress', 'resolved', 'reopened') $$;

-- Fold the appended changes into event_tally (one folder at a time; others skip).
CREATE FUNCTION event_tally_compact() RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
    folded bigint;
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('event_tally_compact')) THEN
        RETURN 0;
    END IF;
    WITH d AS (DELETE FROM event_tally_delta RETURNING *),
    s AS (SELECT bucket, hours, ix, iy, grid_code, sum(n) AS n, sum(n_open) AS n_open,
                 count(*) AS k
          FROM d GROUP BY bucket, hours, ix, iy, grid_code),
    up AS (
        INSERT INTO event_tally AS t (bucket, hours, ix, iy, grid_code, n, n_open)
        SELECT bucket, hours, ix, iy, grid_code, n, n_open FROM s
        ON CONFLICT (hours, bucket, ix, iy, grid_code)
        DO UPDATE SET n = t.n + excluded.n, n_open = t.n_open + excluded.n_open
        RETURNING 1)
    SELECT COALESCE(sum(k), 0) INTO folded FROM s;
    RETURN folded;
END
$fn$;

-- Recount everything from event (after a bulk load with triggers off).
CREATE FUNCTION event_tally_rebuild() RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
    rows bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('event_tally_compact'));
    DELETE FROM event_tally_delta;
    DELETE FROM event_tally;
    INSERT INTO event_tally (bucket, hours, ix, iy, grid_code, n, n_open)
    SELECT date_trunc(CASE h.hours WHEN 1 THEN 'hour' ELSE 'day' END, e.reported_at, 'UTC'),
           h.hours, event_tally_cell(ST_X(e.geom)), event_tally_cell(ST_Y(e.geom)), e.grid_code,
           count(*), count(*) FILTER (WHERE event_tally_open(e.status))
    FROM event e CROSS JOIN (VALUES (CAST(1 AS smallint)), (CAST(24 AS smallint))) h (hours)
    GROUP BY 1, 2, 3, 4, 5;
    GET DIAGNOSTICS rows = ROW_COUNT;
    RETURN rows;
END
$fn$;

-- Statement triggers: the signed changes of the statement's rows, grouped, appended.
CREATE FUNCTION event_tally_note() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO event_tally_delta (bucket, hours, ix, iy, grid_code, n, n_open)
        SELECT date_trunc(CASE h.hours WHEN 1 THEN 'hour' ELSE 'day' END, r.reported_at, 'UTC'),
               h.hours, event_tally_cell(ST_X(r.geom)), event_tally_cell(ST_Y(r.geom)),
               r.grid_code, count(*), count(*) FILTER (WHERE event_tally_open(r.status))
        FROM new_rows r CROSS JOIN (VALUES (CAST(1 AS smallint)), (CAST(24 AS smallint))) h (hours)
        GROUP BY 1, 2, 3, 4, 5;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO event_tally_delta (bucket, hours, ix, iy, grid_code, n, n_open)
        SELECT date_trunc(CASE h.hours WHEN 1 THEN 'hour' ELSE 'day' END, r.reported_at, 'UTC'),
               h.hours, event_tally_cell(ST_X(r.geom)), event_tally_cell(ST_Y(r.geom)),
               r.grid_code, -count(*), -count(*) FILTER (WHERE event_tally_open(r.status))
        FROM old_rows r CROSS JOIN (VALUES (CAST(1 AS smallint)), (CAST(24 AS smallint))) h (hours)
        GROUP BY 1, 2, 3, 4, 5;
    ELSE
        INSERT INTO event_tally_delta (bucket, hours, ix, iy, grid_code, n, n_open)
        SELECT date_trunc(CASE h.hours WHEN 1 THEN 'hour' ELSE 'day' END, c.reported_at, 'UTC'),
               h.hours, c.ix, c.iy, c.grid_code, sum(c.n), sum(c.n_open)
        FROM (SELECT r.reported_at, event_tally_cell(ST_X(r.geom)) AS ix,
                     event_tally_cell(ST_Y(r.geom)) AS iy, r.grid_code, 1 AS n,
                     CASE WHEN event_tally_open(r.status) THEN 1 ELSE 0 END AS n_open
              FROM new_rows r
              UNION ALL
              SELECT r.reported_at, event_tally_cell(ST_X(r.geom)),
                     event_tally_cell(ST_Y(r.geom)), r.grid_code, -1,
                     CASE WHEN event_tally_open(r.status) THEN -1 ELSE 0 END
              FROM old_rows r) c
        CROSS JOIN (VALUES (CAST(1 AS smallint)), (CAST(24 AS smallint))) h (hours)
        GROUP BY 1, 2, 3, 4, 5
        HAVING sum(c.n) <> 0 OR sum(c.n_open) <> 0;
    END IF;
    IF random() < 0.002 THEN
        PERFORM event_tally_compact();
    END IF;
    RETURN NULL;
END
$fn$;

CREATE TRIGGER event_tally_insert AFTER INSERT ON event
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION event_tally_note();
CREATE TRIGGER event_tally_update AFTER UPDATE ON event
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION event_tally_note();
CREATE TRIGGER event_tally_delete AFTER DELETE ON event
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION event_tally_note();

CREATE FUNCTION event_tally_truncate() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    -- DELETE, not TRUNCATE: the tables may be in the same TRUNCATE statement
    DELETE FROM event_tally;
    DELETE FROM event_tally_delta;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER event_tally_truncate AFTER TRUNCATE ON event
    FOR EACH STATEMENT EXECUTE FUNCTION event_tally_truncate();

-- the counts of the events stored before this migration
SELECT event_tally_rebuild();
