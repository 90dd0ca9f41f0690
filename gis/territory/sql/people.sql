-- Workers and roles: the responsible worker of open events, re-derived when roles change.
-- Named blocks, read with gis.db.queries.q("people.sql", ...).

-- name: rederive_workers
-- Open events (of the grids in @grids, or of every grid when @grids is null) whose
-- responsible worker is no longer the one the roles give now (responsible_worker, migration
-- 0020, as intake and the activation pick it), else none.  Each changed event is updated and gets
-- a 'reassigned' history row; the others are not written.  One statement.
-- Only workers that came from the roles follow them: an event whose worker never held a
-- full-time or leader role in its grid was given that worker by hand, and keeps it.
WITH resp AS MATERIALIZED (
    SELECT k.grid_code, rw.worker_id
    FROM (SELECT DISTINCT area_code AS grid_code FROM grid_role
          WHERE CAST(:grids AS text[]) IS NULL OR area_code = ANY(CAST(:grids AS text[]))) k
    CROSS JOIN LATERAL responsible_worker(k.grid_code, now()) rw
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

-- name: save_workers
-- Insert or update the workers @codes / @names / @phones / @id_numbers (parallel arrays, one
-- row a code).  A blank phone or ID number keeps the one on file; a worker whose name, phone
-- and ID number stay the same is not written.  Returns every code with its id and what
-- happened to it ('inserted', 'updated', 'unchanged').
WITH v AS (
    SELECT * FROM unnest(CAST(:codes AS text[]), CAST(:names AS text[]),
                         CAST(:phones AS text[]), CAST(:id_numbers AS text[]))
        AS v(code, name, phone, id_number)
),
up AS (
    INSERT INTO worker AS w (code, name, phone, id_number)
    SELECT code, name, phone, id_number FROM v
    ON CONFLICT (code) DO UPDATE SET
        name = EXCLUDED.name,
        phone = coalesce(EXCLUDED.phone, w.phone),
        id_number = coalesce(EXCLUDED.id_number, w.id_number)
    WHERE (w.name, w.phone, w.id_number) IS DISTINCT FROM
          (EXCLUDED.name, coalesce(EXCLUDED.phone, w.phone),
           coalesce(EXCLUDED.id_number, w.id_number))
    RETURNING w.code, w.id, (xmax = 0) AS inserted
)
SELECT v.code, coalesce(up.id, old.id) AS id,
       CASE WHEN up.code IS NULL THEN 'unchanged'
            WHEN up.inserted THEN 'inserted' ELSE 'updated' END AS change
FROM v
LEFT JOIN up ON up.code = v.code
LEFT JOIN worker old ON old.code = v.code;

-- name: assign_roles
-- Roles (@workers, @areas, @roles, @starts: parallel arrays; a null start is now) that the
-- worker does not already hold open-ended in that area.
INSERT INTO grid_role (worker_id, area_code, role, valid_from)
SELECT v.w, v.a, v.r, coalesce(v.f, now())
FROM unnest(CAST(:workers AS bigint[]), CAST(:areas AS text[]), CAST(:roles AS text[]),
            CAST(:starts AS timestamptz[])) AS v(w, a, r, f)
WHERE NOT EXISTS (SELECT 1 FROM grid_role g WHERE g.worker_id = v.w
                  AND g.area_code = v.a AND g.role = v.r AND g.valid_to IS NULL);

-- name: held_roles
-- Every role (open, ended or future) the workers @workers hold in the areas @areas.
SELECT id, worker_id, area_code, role, valid_from, valid_to
FROM grid_role
WHERE worker_id = ANY(CAST(:workers AS bigint[])) AND area_code = ANY(CAST(:areas AS text[]))
ORDER BY id;

-- name: add_role_periods
-- New roles with their periods (@workers, @areas, @roles, @starts, @ends: parallel arrays),
-- inserted in the order given.
INSERT INTO grid_role (worker_id, area_code, role, valid_from, valid_to)
SELECT w, a, r, f, t
FROM unnest(CAST(:workers AS bigint[]), CAST(:areas AS text[]), CAST(:roles AS text[]),
            CAST(:starts AS timestamptz[]), CAST(:ends AS timestamptz[]))
    WITH ORDINALITY AS v(w, a, r, f, t, n)
ORDER BY n;

-- name: set_role_ends
-- The end (@ends; null reopens) of each role @ids (parallel arrays).
UPDATE grid_role g SET valid_to = v.t
FROM unnest(CAST(:ids AS bigint[]), CAST(:ends AS timestamptz[])) AS v(id, t)
WHERE g.id = v.id;
-- name: first_full_time_worker
-- The first active full-time grid worker (专职网格员) holding a current role: the person the
-- demo gives a field-app account.
SELECT w.code FROM worker w JOIN grid_role r ON r.worker_id = w.id
WHERE w.active AND r.role = 'full_time' AND r.valid_from <= now()
  AND (r.valid_to IS NULL OR r.valid_to > now())
ORDER BY r.area_code, w.code LIMIT 1;

-- name: first_worker_community
-- The community of the grid the first_full_time_worker answers for: the area the demo gives a
-- community dispatcher's account (so the desk and the phone meet on the same events).
SELECT left(r.area_code, 12) FROM worker w JOIN grid_role r ON r.worker_id = w.id
WHERE w.active AND r.role = 'full_time' AND r.valid_from <= now()
  AND (r.valid_to IS NULL OR r.valid_to > now())
ORDER BY r.area_code, w.code LIMIT 1;
