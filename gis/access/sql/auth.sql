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
       -- a session token (named session:<username>) of an account that must change its password
       COALESCE((SELECT a.must_change_password FROM account a
                 WHERE a.username = substr(t.name, 9) AND left(t.name, 8) = 'session:'),
                false) AS must_change_password,
       (SELECT count(*) FROM touched) AS touched
FROM t;
-- name: worker_exists
SELECT 1 FROM worker WHERE code = :c;
-- name: insert_token
INSERT INTO api_token (token_hash, prefix, role, area_code, worker_code, name, expires_at,
                       department)
VALUES (:h, :p, :r, :a, :w, :n, :x, :d)
RETURNING id;
-- name: area_level
SELECT level FROM area WHERE code = :c;
-- name: revoke_token
UPDATE api_token SET revoked_at = now() WHERE id = :i AND revoked_at IS NULL;
-- name: list_tokens
-- Tokens without their secrets.
SELECT id, prefix, role, area_code, worker_code, department, name, created_at, expires_at,
       revoked_at, last_used_at
FROM api_token ORDER BY id;
-- name: worker_areas
-- The areas (grids) worker @w currently holds a role in.
SELECT DISTINCT r.area_code FROM grid_role r JOIN worker w ON w.id = r.worker_id
WHERE w.code = :w AND r.valid_from <= now() AND (r.valid_to IS NULL OR r.valid_to > now())
ORDER BY 1;
-- name: audit
INSERT INTO audit_log (token_id, role, actor, action, target, outcome, data)
VALUES (:t, :r, :a, :act, :tg, :o, CAST(:d AS jsonb));
-- name: audit_entries
-- Newest audit rows first; @t limits to one target, @s to rows at or after a time.
SELECT id, at, token_id, role, actor, action, target, outcome, data FROM audit_log
WHERE (CAST(:t AS text) IS NULL OR target = :t)
  AND (CAST(:s AS timestamptz) IS NULL OR at >= :s)
ORDER BY id DESC
LIMIT :l;
-- name: worker_role_areas
-- Worker @w's id and the areas of its current roles (no row: unknown worker).
SELECT w.id, array_remove(array_agg(r.area_code), NULL) AS areas
FROM worker w
LEFT JOIN grid_role r ON r.worker_id = w.id AND r.valid_from <= now()
     AND (r.valid_to IS NULL OR r.valid_to > now())
WHERE w.code = :w
GROUP BY w.id;
