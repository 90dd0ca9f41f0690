-- Workers and roles: the responsible worker of open events, re-derived when roles change.
-- Named blocks, read with gis.queries.q("people.sql", ...).

-- name: rederive_workers
-- Open events (of the grids in @grids, or of every grid when @grids is null) whose
-- responsible worker is no longer the one the roles give now: the full-time worker holding
-- the grid, else its grid leader (most recent appointment first, then the lowest worker code,
-- as intake and the activation pick it), else none.  Each changed event is updated and gets
-- a 'reassigned' history row; the others are not written.  One statement.
-- Only workers that came from the roles follow them: an event whose worker never held a
-- full-time or leader role in its grid was given that worker by hand, and keeps it.
WITH resp AS MATERIALIZED (
    SELECT DISTINCT ON (r.area_code) r.area_code AS grid_code, w.id AS worker_id
    FROM grid_role r JOIN worker w ON w.id = r.worker_id AND w.active
    WHERE r.role IN ('full_time', 'grid_leader')
      AND r.valid_from <= now() AND (r.valid_to IS NULL OR now() < r.valid_to)
      AND (CAST(:grids AS text[]) IS NULL OR r.area_code = ANY(CAST(:grids AS text[])))
    ORDER BY r.area_code, (r.role <> 'full_time'), r.valid_from DESC, w.code
),
ch AS MATERIALIZED (
    SELECT e.id, e.status, e.grid_code, e.worker_id AS old_worker, resp.worker_id AS new_worker
    FROM event e LEFT JOIN resp ON resp.grid_code = e.grid_code
    WHERE e.status NOT IN ('closed', 'rejected', 'duplicate') AND e.grid_code IS NOT NULL
      AND (CAST(:grids AS text[]) IS NULL OR e.grid_code = ANY(CAST(:grids AS text[])))
      AND e.worker_id IS DISTINCT FROM resp.worker_id
      AND (e.worker_id IS NULL OR EXISTS (
          SELECT 1 FROM grid_role x WHERE x.worker_id = e.worker_id
             AND x.area_code = e.grid_code AND x.role IN ('full_time', 'grid_leader')))
    FOR UPDATE OF e
),
upd AS (
    UPDATE event e SET worker_id = ch.new_worker, updated_at = now()
    FROM ch WHERE e.id = ch.id
    RETURNING 1
),
hist AS (
    INSERT INTO event_history (event_id, action, from_status, to_status, actor, note, data)
    SELECT ch.id, 'reassigned', ch.status, ch.status, :actor, :note,
           jsonb_build_object('reason', 'roles', 'grid', ch.grid_code,
                              'from', jsonb_build_object('worker', ow.code),
                              'to', jsonb_build_object('worker', nw.code))
    FROM ch
    LEFT JOIN worker ow ON ow.id = ch.old_worker
    LEFT JOIN worker nw ON nw.id = ch.new_worker
    RETURNING 1
)
SELECT (SELECT count(*) FROM upd) AS changed, (SELECT count(*) FROM hist) AS written;
