-- Who answers for a grid, once.  The candidates are the full-time workers and grid leaders
-- (active workers) holding the grid; their precedence: full-time before grid leader, then
-- the one who started last, then the lowest worker code.  At a given time the responsible
-- worker is the candidate of lowest precedence whose role is valid then.
-- Read by every SQL that names a grid's worker (responsible_worker below) and by the
-- locator, which keeps the candidates in memory and picks the first valid one
-- (gis.territory.locator.Snapshot.responsible).
CREATE VIEW grid_responsibility AS
SELECT r.area_code AS grid_code, w.id AS worker_id, w.code AS worker_code,
       w.name AS worker_name, r.role, r.valid_from, r.valid_to,
       row_number() OVER (PARTITION BY r.area_code
                          ORDER BY (r.role <> 'full_time'), r.valid_from DESC, w.code)
           AS precedence
FROM grid_role r JOIN worker w ON w.id = r.worker_id
WHERE r.role IN ('full_time', 'grid_leader') AND w.active;

COMMENT ON VIEW grid_responsibility IS
    'candidates to answer for each grid, in precedence order (full-time first, newest first)';

-- The worker who answers for @grid at @at (none: no row).  LANGUAGE sql, STABLE, one SELECT
-- and not STRICT, so the planner inlines it where it is called (CROSS/LEFT JOIN LATERAL):
-- the grid code reaches the view's partition and only that grid's roles are read.
CREATE FUNCTION responsible_worker(grid text, at timestamptz)
RETURNS TABLE (worker_id bigint, worker_code text, worker_name text, role text)
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
    SELECT v.worker_id, v.worker_code, v.worker_name, v.role
    FROM grid_responsibility v
    WHERE v.grid_code = grid AND v.valid_from <= at AND (v.valid_to IS NULL OR at < v.valid_to)
    ORDER BY v.precedence
    LIMIT 1
$$;

COMMENT ON FUNCTION responsible_worker(text, timestamptz) IS
    'the worker who answers for a grid at a time: full-time, else grid leader, newest first';
