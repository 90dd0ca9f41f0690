-- Patrol tracks (gis.intake.patrols).
-- name: worker_id
SELECT id FROM worker WHERE code = :c;
-- name: insert_track
-- @wkt: the track as a LINESTRING M in WGS84 (M = epoch seconds); its length is in metres.
INSERT INTO patrol_track (worker_id, grid_code, started_at, ended_at, geom, length_m, input_crs)
VALUES (:w, :g, :s, :e, ST_GeomFromText(:wkt, 4326),
        ST_Length(ST_Force2D(ST_GeomFromText(:wkt, 4326))::geography), :crs)
RETURNING id, uid::text, length_m;
