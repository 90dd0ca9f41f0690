-- The live map's open-ended windows ("the last 30 days", "today": until the far future) read
-- one row per (cell, grid) instead of every day and hour of the window. event_tally_from keeps,
-- per start hour registered in event_tally_start, the folded counts of every event reported at
-- or after that hour; event_tally_compact() adds what it folds to every registered start, so a
-- window [since, far future) is: its start's rows + the changes not folded yet + the events of
-- the partial hour before the start, one by one. Starts are built on demand (the page asks for
-- the hour after its window's beginning, a new one each hour) and dropped two hours after they
-- were built; a reader without its start reads the day and hour rows as before.

CREATE TABLE event_tally_start (
    start     timestamptz PRIMARY KEY,
    built_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE event_tally_from (
    start      timestamptz NOT NULL REFERENCES event_tally_start ON DELETE CASCADE,
    ix         integer,
    iy         integer,
    grid_code  text,
    n          bigint NOT NULL,
    n_open     bigint NOT NULL
);
CREATE UNIQUE INDEX event_tally_from_key ON event_tally_from (start, ix, iy, grid_code)
    INCLUDE (n, n_open) NULLS NOT DISTINCT;

CREATE OR REPLACE FUNCTION event_tally_compact() RETURNS bigint
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
        RETURNING 1),
    fr AS (
        INSERT INTO event_tally_from AS t (start, ix, iy, grid_code, n, n_open)
        SELECT w.start, s.ix, s.iy, s.grid_code, sum(s.n), sum(s.n_open)
        FROM s JOIN event_tally_start w ON s.hours = 1 AND s.bucket >= w.start
        GROUP BY w.start, s.ix, s.iy, s.grid_code
        ON CONFLICT (start, ix, iy, grid_code)
        DO UPDATE SET n = t.n + excluded.n, n_open = t.n_open + excluded.n_open
        RETURNING 1)
    SELECT COALESCE(sum(k), 0) INTO folded FROM s;
    RETURN folded;
END
$fn$;

-- Register start hour @s and count its rows from the folded day and hour rows (false when it
-- was there already); drops the starts built more than two hours ago.
CREATE FUNCTION event_tally_from_build(s timestamptz) RETURNS boolean
LANGUAGE plpgsql AS $fn$
DECLARE
    d timestamptz := date_trunc('day', s, 'UTC');
BEGIN
    IF s <> date_trunc('hour', s, 'UTC') THEN
        RAISE EXCEPTION 'event_tally_from_build: % is not a whole hour', s;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('event_tally_compact'));
    IF EXISTS (SELECT 1 FROM event_tally_start WHERE start = s) THEN
        RETURN false;
    END IF;
    DELETE FROM event_tally_start WHERE built_at < now() - interval '2 hours';
    IF d < s THEN
        d := d + interval '1 day';
    END IF;
    INSERT INTO event_tally_start (start) VALUES (s);
    INSERT INTO event_tally_from (start, ix, iy, grid_code, n, n_open)
    SELECT s, k.ix, k.iy, k.grid_code, sum(k.n), sum(k.n_open)
    FROM (SELECT t.ix, t.iy, t.grid_code, t.n, t.n_open FROM event_tally t
          WHERE t.hours = 24 AND t.bucket >= d
          UNION ALL
          SELECT t.ix, t.iy, t.grid_code, t.n, t.n_open FROM event_tally t
          WHERE t.hours = 1 AND t.bucket >= s AND t.bucket < d) k
    GROUP BY k.ix, k.iy, k.grid_code
    HAVING sum(k.n) <> 0 OR sum(k.n_open) <> 0;
    RETURN true;
END
$fn$;

CREATE OR REPLACE FUNCTION event_tally_rebuild() RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
    rows bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('event_tally_compact'));
    DELETE FROM event_tally_start;
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

CREATE OR REPLACE FUNCTION event_tally_truncate() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    -- DELETE, not TRUNCATE: the tables may be in the same TRUNCATE statement
    DELETE FROM event_tally_start;
    DELETE FROM event_tally;
    DELETE FROM event_tally_delta;
    RETURN NULL;
END
$fn$;
