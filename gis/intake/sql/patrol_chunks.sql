-- Patrol tracks uploaded in chunks from a phone (gis.intake.patrol_chunks).
-- name: lock_track
-- One chunk of track @uid at a time: its chunks and its patrol_track row change together.
SELECT pg_advisory_xact_lock(hashtext('wangge.patrol_chunk'), hashtext(CAST(:uid AS text)));
-- name: chunk_same
-- The stored chunk (@uid, @seq), if any, and whether it equals the one sent again.
SELECT worker_id, final = :final AND fixes = CAST(:fixes AS jsonb) AS same
FROM patrol_chunk WHERE track_uid = CAST(:uid AS uuid) AND seq = :seq;
-- name: track_owner
-- The worker of track @uid's earlier chunks and of its patrol_track row (NULL: none yet).
SELECT (SELECT worker_id FROM patrol_chunk WHERE track_uid = CAST(:uid AS uuid) LIMIT 1)
           AS chunk_worker,
       (SELECT worker_id FROM patrol_track WHERE uid = CAST(:uid AS uuid)) AS track_worker;
-- name: insert_chunk
INSERT INTO patrol_chunk (track_uid, seq, worker_id, fixes, final)
VALUES (CAST(:uid AS uuid), :seq, :w, CAST(:fixes AS jsonb), :final);
-- name: chunk_fixes
-- Every chunk of track @uid: its fixes [[lon, lat, epoch], ...] (WGS84), by seq.
SELECT seq, fixes FROM patrol_chunk WHERE track_uid = CAST(:uid AS uuid) ORDER BY seq;
-- name: chunk_state
-- Track @uid's chunks: their seqs and whether one of them was the last (final).
SELECT COALESCE(array_agg(seq ORDER BY seq), CAST('{}' AS int[])) AS seqs,
       COALESCE(bool_or(final), false) AS final
FROM patrol_chunk WHERE track_uid = CAST(:uid AS uuid);
-- name: upsert_track
-- Track @uid (re)built from its chunks: @wkt is a LINESTRING M in WGS84 (M = epoch seconds);
-- its length is in metres. The row keeps its id and received time when rebuilt.
INSERT INTO patrol_track (uid, worker_id, grid_code, started_at, ended_at, geom, length_m,
                          input_crs)
VALUES (CAST(:uid AS uuid), :w, :g, :s, :e, ST_GeomFromText(:wkt, 4326),
        ST_Length(ST_Force2D(ST_GeomFromText(:wkt, 4326))::geography), :crs)
ON CONFLICT (uid) DO UPDATE SET grid_code = EXCLUDED.grid_code,
    started_at = EXCLUDED.started_at, ended_at = EXCLUDED.ended_at, geom = EXCLUDED.geom,
    length_m = EXCLUDED.length_m;
-- name: tracks
-- Tracks the caller may see, as GeoJSON: of worker @worker (NULL: any), overlapping
-- [@since, @until) (NULL: any time), or the one of uid @uid (NULL: any).
-- Visible: only worker @own's when @own is set (a grid worker); else tracks whose main grid
-- lies in the prefixes @prefixes or whose worker holds a current role there (NULL: all).
SELECT t.id, t.uid::text AS uid, w.code AS worker, t.grid_code AS grid, t.started_at,
       t.ended_at, round(CAST(t.length_m AS numeric), 1)::float8 AS length_m,
       ST_NPoints(t.geom) AS points, COALESCE(c.final, false) AS final,
       ST_AsGeoJSON(ST_Force2D(t.geom), 7) AS geometry
FROM patrol_track t JOIN worker w ON w.id = t.worker_id
LEFT JOIN LATERAL (SELECT bool_or(k.final) AS final FROM patrol_chunk k
                   WHERE k.track_uid = t.uid) c ON true
WHERE (CAST(:uid AS uuid) IS NULL OR t.uid = CAST(:uid AS uuid))
  AND (CAST(:since AS timestamptz) IS NULL OR t.ended_at >= :since)
  AND (CAST(:until AS timestamptz) IS NULL OR t.started_at < :until)
  AND (CAST(:worker AS text) IS NULL OR w.code = :worker)
  AND (CAST(:own AS text) IS NULL OR w.code = :own)
  AND (in_scope(t.grid_code, CAST(:prefixes AS text[]))
       OR EXISTS (SELECT 1 FROM grid_role r
                  WHERE r.worker_id = t.worker_id AND r.valid_from <= now()
                    AND (r.valid_to IS NULL OR r.valid_to > now())
                    AND in_scope(r.area_code, CAST(:prefixes AS text[]))))
ORDER BY t.started_at, t.id;
