-- Patrol visits kept as tracks arrive: for every track, the units of the active generation
-- its line passes within the patrol distance (geography ST_DWithin, decided as the oversight
-- queries do) and the time of its closest approach. Coverage and "not visited for N days"
-- read these rows instead of probing every segment of every track at query time; a track
-- not (or no longer) indexed for the active generation and distance is answered the slow way.

-- The distance the trigger indexes with (one row; missing: the rulebook's default, 30 m).
CREATE TABLE patrol_visit_setting (
    one         boolean PRIMARY KEY DEFAULT true CHECK (one),
    distance_m  double precision NOT NULL CHECK (distance_m > 0 AND distance_m <= 2000)
);
INSERT INTO patrol_visit_setting (distance_m) VALUES (30);

-- A track indexed for one generation and distance, with the range of its M times (epoch s).
CREATE TABLE patrol_track_indexed (
    track_id       bigint PRIMARY KEY REFERENCES patrol_track (id) ON DELETE CASCADE,
    generation_id  bigint NOT NULL,
    distance_m     double precision NOT NULL,
    mmin           double precision NOT NULL,
    mmax           double precision NOT NULL
);

-- A unit an indexed track passed, and when (the M time at the closest approach).
CREATE TABLE patrol_visit (
    track_id    bigint NOT NULL REFERENCES patrol_track_indexed (track_id) ON DELETE CASCADE,
    unit_id     bigint NOT NULL,
    worker_id   bigint NOT NULL,
    started_at  timestamptz NOT NULL,
    visit_at    timestamptz NOT NULL,
    PRIMARY KEY (track_id, unit_id)
);
CREATE INDEX patrol_visit_unit ON patrol_visit (unit_id, visit_at DESC) INCLUDE (started_at);

-- (Re)index one track (returns its visits) against the active generation: its pieces of up to 16 segments probe
-- the unit GiST index with their box grown by a little more than the distance; a pair is
-- decided in a local metric plane when clearly inside or outside, else by geography
-- ST_DWithin (as unit_visits in gis/oversight/sql/coverage.sql).
CREATE FUNCTION patrol_index_track(p_track bigint) RETURNS integer
LANGUAGE plpgsql AS $fn$
DECLARE
    d    double precision := COALESCE((SELECT distance_m FROM patrol_visit_setting), 30);
    gen  bigint := (SELECT id FROM generation WHERE status = 'active');
    n    integer;
BEGIN
    DELETE FROM patrol_track_indexed WHERE track_id = p_track;
    IF gen IS NULL THEN
        RETURN 0;
    END IF;
    INSERT INTO patrol_track_indexed (track_id, generation_id, distance_m, mmin, mmax)
    SELECT p.id, gen, d, mm.lo, mm.hi
    FROM patrol_track p,
         LATERAL (SELECT min(ST_M(x.geom)) AS lo, max(ST_M(x.geom)) AS hi
                  FROM ST_DumpPoints(p.geom) x) mm
    WHERE p.id = p_track AND mm.lo IS NOT NULL;
    IF NOT FOUND THEN
        RETURN 0;
    END IF;
    INSERT INTO patrol_visit (track_id, unit_id, worker_id, started_at, visit_at)
    WITH p AS (SELECT id, worker_id, started_at, geom, ST_Force2D(geom) AS g2
               FROM patrol_track WHERE id = p_track),
    pt AS (SELECT x.path[1] AS i, x.geom FROM p, LATERAL ST_DumpPoints(p.g2) x),
    piece AS (
        SELECT ST_MakeLine(array_agg(pt.geom ORDER BY pt.i)) AS g
        FROM pt, LATERAL (SELECT (pt.i - 1) / 16 AS k
                          UNION ALL
                          SELECT (pt.i - 1) / 16 - 1 WHERE pt.i > 1 AND (pt.i - 1) % 16 = 0) b
        GROUP BY b.k HAVING count(*) >= 2
    ),
    seg AS (
        SELECT piece.g, m.local,
               111132.954 - 559.822 * cos(2 * m.lat) + 1.175 * cos(4 * m.lat) AS ky,
               111412.84 * cos(m.lat) - 93.5 * cos(3 * m.lat) + 0.118 * cos(5 * m.lat) AS kx,
               d * 1.1 + 1 AS reach
        FROM piece, LATERAL (
            SELECT radians((ST_YMin(piece.g) + ST_YMax(piece.g)) / 2) AS lat,
                   abs(ST_YMin(piece.g) + ST_YMax(piece.g)) / 2 <= 60
                   AND greatest(ST_XMax(piece.g) - ST_XMin(piece.g),
                                ST_YMax(piece.g) - ST_YMin(piece.g)) <= 0.01
                   AND d <= 2000 AS local
        ) m
    ),
    cand AS MATERIALIZED (
        SELECT u.id AS unit_id, u.geom AS ug, seg.g, seg.local,
               CASE WHEN seg.local THEN ST_Distance(ST_Scale(seg.g, seg.kx, seg.ky),
                                                    ST_Scale(u.geom, seg.kx, seg.ky)) END AS pd
        FROM seg JOIN unit u ON u.generation_id = gen
         AND u.geom && ST_Expand(seg.g,
                                 seg.reach / (111319.0 * cos(radians(least(89.9,
                                     greatest(abs(ST_YMin(seg.g)), abs(ST_YMax(seg.g)))
                                     + seg.reach / 110574.0)))),
                                 seg.reach / 110574.0)
    ),
    near AS (
        SELECT DISTINCT cand.unit_id FROM cand
        WHERE CASE WHEN cand.local AND cand.pd <= d * 0.99 - 0.5 THEN true
                   WHEN cand.local AND cand.pd > d * 1.01 + 0.5 THEN false
                   ELSE ST_DWithin(cand.g::geography, cand.ug::geography, d) END
    )
    SELECT p.id, u.id, p.worker_id, p.started_at,
           to_timestamp(ST_InterpolatePoint(p.geom, ST_ClosestPoint(p.g2, u.geom)))
    FROM p, near JOIN unit u ON u.id = near.unit_id;
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END
$fn$;

CREATE FUNCTION patrol_track_visits() RETURNS trigger
LANGUAGE plpgsql AS $fn$
BEGIN
    PERFORM patrol_index_track(NEW.id);
    RETURN NULL;
END
$fn$;

CREATE TRIGGER patrol_track_visits AFTER INSERT OR UPDATE OF geom, worker_id, started_at
ON patrol_track FOR EACH ROW EXECUTE FUNCTION patrol_track_visits();
