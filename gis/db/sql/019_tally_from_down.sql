DROP FUNCTION IF EXISTS event_tally_from_build(timestamptz);
DROP TABLE IF EXISTS event_tally_from, event_tally_start;

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
        RETURNING 1)
    SELECT COALESCE(sum(k), 0) INTO folded FROM s;
    RETURN folded;
END
$fn$;

CREATE OR REPLACE FUNCTION event_tally_rebuild() RETURNS bigint
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

CREATE OR REPLACE FUNCTION event_tally_truncate() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    DELETE FROM event_tally;
    DELETE FROM event_tally_delta;
    RETURN NULL;
END
$fn$;
