-- name: token_principal
-- The principal of a token hash, read on every request (revocation and expiry take effect
-- at once in every API process): the valid token row by its unique hash, the grids its worker
-- currently holds a role in, and last_used_at refreshed at most once a minute. One statement,
-- one round trip (run in autocommit).
WITH t AS (
    SELECT id, role, area_code, worker_code, name, expires_at, last_used_at, department
    FROM api_token
    WHERE token_hash = :h AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
), touched AS (
    UPDATE api_token a SET last_used_at = now()
    FROM t
    WHERE a.id = t.id AND (t.last_used_at IS NULL OR t.last_used_at < now() - interval '60 s')
    RETURNING a.id
)
SELECT t.id, t.role, t.area_code, t.worker_code, t.name, t.department,
       ARRAY(SELECT DISTINCT r.area_code FROM grid_role r JOIN worker w ON w.id = r.worker_id
             WHERE w.code = t.worker_code AND r.valid_from <= now()
               AND (r.valid_to IS NULL OR r.valid_to > now())
             ORDER BY 1) AS worker_areas,
       (SELECT count(*) FROM touched) AS touched
FROM t;
