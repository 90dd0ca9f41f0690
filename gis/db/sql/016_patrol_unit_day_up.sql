-- Units visited per China Standard Time day, kept as tracks are indexed (migration 0014): the
-- coverage of whole days reads one row per visited unit and day instead of every visit row.
-- A track counts in its day when it lies within one CST day: its M times (fix times) and its
-- started_at all in [00:00, 24:00] of that day (M may end at 24:00 exactly, started_at may
-- not), the same tracks unit_visits reads whole from their visit rows for any period of whole
-- days holding that day. Other tracks (across midnight, not indexed, another distance or
-- generation) are answered as before (gis/oversight/sql/coverage.sql).
-- Writers never wait on each other: the triggers append signed track counts per (day,
-- distance, unit) to patrol_unit_day_delta; patrol_unit_day_compact() folds them into
-- patrol_unit_day (readers sum both).

-- The CST day a track lies within (NULL: none): mmin/mmax its M range, started_at its start.
CREATE FUNCTION patrol_visit_day(mmin double precision, mmax double precision,
                                 started_at timestamptz) RETURNS date
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE WHEN mmax <= s.t0 + 86400 AND extract(epoch FROM started_at) >= s.t0
                     AND extract(epoch FROM started_at) < s.t0 + 86400
                THEN DATE '1970-01-01' + CAST((s.t0 + 28800) / 86400 AS integer) END
    FROM (SELECT floor((mmin + 28800) / 86400) * 86400 - 28800 AS t0) s
$$;

-- the day of each indexed track (NULL: across days), set on insert
ALTER TABLE patrol_track_indexed ADD COLUMN day date;
UPDATE patrol_track_indexed x SET day = patrol_visit_day(x.mmin, x.mmax, p.started_at)
FROM patrol_track p WHERE p.id = x.track_id;
CREATE INDEX patrol_track_indexed_day ON patrol_track_indexed (day) WHERE day IS NOT NULL;

-- the tracks overlapping a period, found by their span (the planner misjudges the two range
-- conditions started_at < until AND ended_at >= since and read every track of a month)
CREATE INDEX patrol_track_span ON patrol_track USING gist (tstzrange(started_at, ended_at, '[]'));

-- Per day, distance and unit: the tracks of that day indexed at that distance that passed it.
CREATE TABLE patrol_unit_day (
    day         date NOT NULL,
    distance_m  double precision NOT NULL,
    unit_id     bigint NOT NULL,
    tracks      integer NOT NULL,
    PRIMARY KEY (day, distance_m, unit_id)
);

CREATE TABLE patrol_unit_day_delta (
    day         date NOT NULL,
    distance_m  double precision NOT NULL,
    unit_id     bigint NOT NULL,
    tracks      integer NOT NULL
);
CREATE INDEX patrol_unit_day_delta_day ON patrol_unit_day_delta (day, distance_m);

-- Fold the appended changes into patrol_unit_day, dropping rows whose count reaches 0 (one
-- folder at a time; others skip). Returns the changes folded.
CREATE FUNCTION patrol_unit_day_compact() RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
    folded  bigint;
    zd      date[];
    zm      double precision[];
    zu      bigint[];
BEGIN
    IF NOT pg_try_advisory_xact_lock(hashtext('patrol_unit_day_compact')) THEN
        RETURN 0;
    END IF;
    WITH d AS (DELETE FROM patrol_unit_day_delta RETURNING *),
    s AS (SELECT day, distance_m, unit_id, sum(tracks) AS tracks, count(*) AS k
          FROM d GROUP BY day, distance_m, unit_id),
    up AS (
        INSERT INTO patrol_unit_day AS t (day, distance_m, unit_id, tracks)
        SELECT day, distance_m, unit_id, tracks FROM s WHERE tracks <> 0
        ON CONFLICT (day, distance_m, unit_id) DO UPDATE SET tracks = t.tracks + excluded.tracks
        RETURNING t.day, t.distance_m, t.unit_id, t.tracks),
    z AS (SELECT array_agg(day) AS zd, array_agg(distance_m) AS zm, array_agg(unit_id) AS zu
          FROM up WHERE tracks <= 0)
    SELECT (SELECT COALESCE(sum(k), 0) FROM s), z.zd, z.zm, z.zu INTO folded, zd, zm, zu FROM z;
    IF zd IS NOT NULL THEN
        DELETE FROM patrol_unit_day t USING unnest(zd, zm, zu) AS z (day, distance_m, unit_id)
        WHERE t.day = z.day AND t.distance_m = z.distance_m AND t.unit_id = z.unit_id
          AND t.tracks <= 0;
    END IF;
    RETURN folded;
END
$fn$;

-- Recount everything from the visit rows (after a bulk load, or to check).
CREATE FUNCTION patrol_unit_day_rebuild() RETURNS bigint
LANGUAGE plpgsql AS $fn$
DECLARE
    rows bigint;
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('patrol_unit_day_compact'));
    DELETE FROM patrol_unit_day_delta;
    DELETE FROM patrol_unit_day;
    INSERT INTO patrol_unit_day (day, distance_m, unit_id, tracks)
    SELECT x.day, x.distance_m, v.unit_id, count(*)
    FROM patrol_track_indexed x JOIN patrol_visit v ON v.track_id = x.track_id
    WHERE x.day IS NOT NULL
    GROUP BY 1, 2, 3;
    GET DIAGNOSTICS rows = ROW_COUNT;
    RETURN rows;
END
$fn$;

-- An indexed track's day, from its M range and its start.
CREATE FUNCTION patrol_track_indexed_day() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    NEW.day := patrol_visit_day(NEW.mmin, NEW.mmax,
                                (SELECT started_at FROM patrol_track WHERE id = NEW.track_id));
    RETURN NEW;
END
$fn$;
CREATE TRIGGER patrol_track_indexed_day BEFORE INSERT ON patrol_track_indexed
    FOR EACH ROW EXECUTE FUNCTION patrol_track_indexed_day();

-- A track's visit rows written: +1 per unit on its day.
CREATE FUNCTION patrol_unit_day_add() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO patrol_unit_day_delta (day, distance_m, unit_id, tracks)
    SELECT x.day, x.distance_m, v.unit_id, count(*)
    FROM new_rows v JOIN patrol_track_indexed x ON x.track_id = v.track_id
    WHERE x.day IS NOT NULL
    GROUP BY 1, 2, 3;
    IF random() < 0.002 THEN
        PERFORM patrol_unit_day_compact();
    END IF;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER patrol_unit_day_add AFTER INSERT ON patrol_visit
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION patrol_unit_day_add();

-- An indexed track removed (re-indexed, or its track deleted): -1 per unit of its visit rows,
-- read before they go with it (ON DELETE CASCADE).
CREATE FUNCTION patrol_unit_day_remove() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    INSERT INTO patrol_unit_day_delta (day, distance_m, unit_id, tracks)
    SELECT OLD.day, OLD.distance_m, v.unit_id, -1
    FROM patrol_visit v WHERE v.track_id = OLD.track_id;
    RETURN OLD;
END
$fn$;
CREATE TRIGGER patrol_unit_day_remove BEFORE DELETE ON patrol_track_indexed
    FOR EACH ROW WHEN (OLD.day IS NOT NULL) EXECUTE FUNCTION patrol_unit_day_remove();

CREATE FUNCTION patrol_unit_day_truncate() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    -- DELETE, not TRUNCATE: the tables may be in the same TRUNCATE statement
    DELETE FROM patrol_unit_day;
    DELETE FROM patrol_unit_day_delta;
    RETURN NULL;
END
$fn$;
CREATE TRIGGER patrol_unit_day_truncate AFTER TRUNCATE ON patrol_visit
    FOR EACH STATEMENT EXECUTE FUNCTION patrol_unit_day_truncate();

-- the days of the tracks indexed before this migration
SELECT patrol_unit_day_rebuild();
