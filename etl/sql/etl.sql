-- ETL statements (package etl.sql).

-- name: building_load_settings
SET LOCAL statement_timeout = 0;
SET LOCAL synchronous_commit = off;
SET LOCAL work_mem = '256MB';
SET LOCAL maintenance_work_mem = '512MB';

-- name: building_lock
-- One bulk writer at a time (the key split below stays true until commit); readers go on.
LOCK TABLE building IN SHARE ROW EXCLUSIVE MODE;

-- name: building_keys
SELECT source_id FROM building WHERE source = %(source)s;

-- name: building_stage
CREATE TEMP TABLE etl_building_stage (
    source text, source_id text, name text, address text, floors int,
    height_m double precision, geom geometry(MultiPolygon, 4326), properties jsonb
) ON COMMIT DROP;

-- name: building_update_changed
-- Only rows whose attributes or geometry differ are rewritten (and get a new loaded_at).
UPDATE building b SET
    name = s.name, address = s.address, floors = s.floors, height_m = s.height_m,
    geom = s.geom, properties = coalesce(s.properties, '{}'::jsonb), loaded_at = now()
FROM etl_building_stage s
WHERE b.source = s.source AND b.source_id = s.source_id
  AND ((b.name, b.address, b.floors, b.height_m, b.properties)
       IS DISTINCT FROM (s.name, s.address, s.floors, s.height_m,
                         coalesce(s.properties, '{}'::jsonb))
       OR ST_AsBinary(b.geom) <> ST_AsBinary(s.geom));

-- name: building_rows_estimate
-- (the planner's estimate; an exact count when the table was never analysed)
SELECT CASE WHEN reltuples >= 0 THEN reltuples::bigint ELSE (SELECT count(*) FROM building) END
FROM pg_class WHERE oid = 'building'::regclass;

-- name: building_rebuildable_indexes
-- Indexes of building that back no constraint (GiST on geom and point, address): dropped and
-- rebuilt around a large insert, with their exact definitions.
SELECT c.relname, pg_get_indexdef(i.indexrelid)
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
WHERE i.indrelid = 'building'::regclass AND NOT i.indisunique AND NOT i.indisprimary
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
ORDER BY c.relname;

-- name: building_stage_analyze
ANALYZE etl_building_stage;

-- name: building_stage_drop
DROP TABLE etl_building_stage;

-- name: building_lock_exclusive
-- Around dropping and rebuilding the indexes: nobody reads a half-indexed table.
LOCK TABLE building IN ACCESS EXCLUSIVE MODE;

-- name: city_active_generation
-- The active generation of this very city (same source, same description), if any.
SELECT id FROM generation WHERE status = 'active' AND source = :s AND description = :d;

-- name: city_delete_stale_buildings
-- Buildings of the source that the city no longer has (@ids: the source ids it has).
DELETE FROM building b
WHERE b.source = :s
  AND NOT EXISTS (SELECT 1 FROM unnest(CAST(:ids AS text[])) AS k(id) WHERE k.id = b.source_id);

-- name: grid_role_count
SELECT count(*) FROM grid_role;

-- name: events_of_reporter
SELECT count(*) FROM event WHERE reporter = :r;

-- name: event_item_limits
SELECT code, time_limit_h FROM event_item;

-- name: no_statement_timeout
SET LOCAL statement_timeout = 0;

-- name: event_lock
-- Writers wait for a bulk event load (the duplicate trigger is off only inside it).
LOCK TABLE event IN SHARE ROW EXCLUSIVE MODE;

-- name: event_max_id
SELECT coalesce(max(id), 0) FROM event;

-- name: event_duplicate_trigger_off
ALTER TABLE event DISABLE TRIGGER event_duplicate_detect;

-- name: event_duplicate_trigger_on
ALTER TABLE event ENABLE TRIGGER event_duplicate_detect;

-- name: unit_codes_ever_used
-- Every unit code ever given in the grids @g (retired generations too): never given again.
SELECT code FROM area WHERE level = 'unit' AND left(code, length(code) - 3) = ANY(:g);

-- name: units_of_grids
SELECT code, grid_code FROM unit WHERE generation_id = :s AND grid_code = ANY(:g);

-- name: copy_units_except_grids
-- A new generation @t takes the units of generation @s, except those of the grids @g.
INSERT INTO unit (generation_id, code, name, grid_code, geom)
SELECT :t, code, name, grid_code, geom FROM unit
WHERE generation_id = :s AND NOT (grid_code = ANY(:g));

-- name: demo_generation
-- The loaded demo's generation, the active one first.
SELECT id FROM generation WHERE source = :s AND status IN ('active', 'retired')
ORDER BY (status = 'active') DESC, id DESC LIMIT 1;

-- name: demo_cameras
-- (psycopg2 execute_values: the rows go where VALUES names them)
INSERT INTO camera (code, name, kind, direction_deg, status, geom) VALUES %s
ON CONFLICT (code) DO NOTHING;

-- name: camera_stage
CREATE TEMP TABLE etl_camera_stage (
    code text, name text, kind text, direction_deg double precision, status text,
    lon double precision, lat double precision, properties jsonb
) ON COMMIT DROP;

-- name: camera_upsert
WITH up AS (
    INSERT INTO camera AS c (code, name, kind, direction_deg, status, geom, properties)
    SELECT code, name, kind, direction_deg, status, ST_SetSRID(ST_MakePoint(lon, lat), 4326),
           coalesce(properties, '{}'::jsonb)
    FROM etl_camera_stage
    ON CONFLICT (code) DO UPDATE SET
        name = EXCLUDED.name, kind = EXCLUDED.kind, direction_deg = EXCLUDED.direction_deg,
        status = EXCLUDED.status, geom = EXCLUDED.geom, properties = EXCLUDED.properties,
        loaded_at = now()
    WHERE (c.name, c.kind, c.direction_deg, c.status, c.properties)
          IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.kind, EXCLUDED.direction_deg,
                            EXCLUDED.status, EXCLUDED.properties)
       OR ST_AsBinary(c.geom) <> ST_AsBinary(EXCLUDED.geom)
    RETURNING (xmax = 0) AS inserted
)
SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM up;

-- name: cameras_near
WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS g)
SELECT c.id, c.code, c.name, c.kind, c.status, c.direction_deg,
       ST_X(c.geom) AS lon, ST_Y(c.geom) AS lat,
       ST_Distance(c.geom::geography, p.g::geography) AS distance_m,
       count(*) OVER () AS total_in_range
FROM camera c, p
WHERE c.geom && ST_Expand(p.g, :deg)
  AND ST_DWithin(c.geom::geography, p.g::geography, :radius)
ORDER BY distance_m, c.code
LIMIT :limit;

-- name: buildings_in_grids
SELECT b.id, b.source, b.source_id, coalesce(b.floors, 1) AS floors,
       ST_Area(b.geom::geography) AS area_m2, ST_AsBinary(b.geom) AS wkb,
       ST_X(b.point) AS lon, ST_Y(b.point) AS lat
FROM building b
-- (geom && box first: served by building_geom_gist; a building's point lies inside its geom)
WHERE b.geom && ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax, 4326)
  AND b.point && ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax, 4326)
ORDER BY b.source, b.source_id;

-- name: all_buildings
SELECT b.id, b.source, b.source_id, coalesce(b.floors, 1) AS floors,
       ST_Area(b.geom::geography) AS area_m2, ST_AsBinary(b.geom) AS wkb,
       ST_X(b.point) AS lon, ST_Y(b.point) AS lat
FROM building b
WHERE (:source IS NULL OR b.source = :source)
ORDER BY b.source, b.source_id;

-- name: building_swap_blockers
-- What a swap of the building table could not carry over: views or rules reading it, triggers
-- of our own, row security, other tables inheriting it, publications (foreign keys pointing
-- at it and grants to roles are carried over; see building_referencing_keys, building_grants).
SELECT
    (SELECT count(*) FROM pg_depend d WHERE d.refobjid = 'building'::regclass
       AND d.classid = 'pg_rewrite'::regclass) AS views,
    (SELECT count(*) FROM pg_trigger WHERE tgrelid = 'building'::regclass
       AND NOT tgisinternal) AS triggers,
    (SELECT relrowsecurity OR relhassubclass OR EXISTS (
            SELECT 1 FROM aclexplode(relacl) a WHERE a.grantee = 0) FROM pg_class
       WHERE oid = 'building'::regclass) AS acl_rls_inherit,
    (SELECT count(*) FROM pg_publication_rel WHERE prrelid = 'building'::regclass)
        AS publications,
    -- and what it needs: to own building (to drop it) and to create tables beside it
    (SELECT NOT (pg_has_role(current_user, c.relowner, 'USAGE')
                 AND has_schema_privilege(c.relnamespace, 'CREATE'))
     FROM pg_class c WHERE c.oid = 'building'::regclass) AS not_allowed;

-- name: building_grants
-- The grants on building to other roles (the platform's role), as statements to run again on
-- the table that replaces it.
SELECT format('GRANT %s ON building TO %I', a.privilege_type, r.rolname)
FROM pg_class c CROSS JOIN LATERAL aclexplode(c.relacl) a JOIN pg_roles r ON r.oid = a.grantee
WHERE c.oid = 'building'::regclass AND a.grantee <> c.relowner;

-- name: building_is_empty
SELECT NOT EXISTS (SELECT 1 FROM building);

-- name: building_indexes
-- Every index of building with its definition and the constraint it backs (if any).
SELECT c.relname, pg_get_indexdef(i.indexrelid), k.conname, k.contype,
       am.amname
FROM pg_index i
JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_am am ON am.oid = c.relam
LEFT JOIN pg_constraint k ON k.conindid = i.indexrelid AND k.conrelid = i.indrelid
WHERE i.indrelid = 'building'::regclass
ORDER BY c.relname;

-- name: building_referencing_keys
-- Foreign keys of other tables that point at building.
SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
FROM pg_constraint WHERE confrelid = 'building'::regclass AND contype = 'f'
ORDER BY 1, 2;

-- name: building_owned_sequences
SELECT a.attname, pg_get_serial_sequence('building', a.attname)
FROM pg_attribute a
WHERE a.attrelid = 'building'::regclass AND a.attnum > 0 AND NOT a.attisdropped
  AND pg_get_serial_sequence('building', a.attname) IS NOT NULL;

-- name: roster_areas
-- Every area code with its level (a roster's roles are held in a grid or unit).
SELECT code, level FROM area;

-- name: swap_stream_settings
-- Session settings of a swap-load's COPY and index streams (the streams are the parallelism).
SET statement_timeout = 0; SET synchronous_commit = off; SET maintenance_work_mem = '512MB';
SET max_parallel_maintenance_workers = 0;

-- name: swap_lock_building
LOCK TABLE building IN ACCESS EXCLUSIVE MODE;

-- name: swap_drop_building
DROP TABLE building;

-- name: demo_events
-- The demo's events (reporter 'demo') with their report and due times, oldest first.
SELECT id, reported_at, due_at FROM event WHERE reporter = 'demo' ORDER BY reported_at, id;
