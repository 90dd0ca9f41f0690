-- Wangge core schema (revision 0001). Geometries in EPSG:4326 (WGS84 / CGCS2000);
-- distances are computed in metres with geography or a local metric CRS.
CREATE EXTENSION IF NOT EXISTS postgis;

-- Boundary generations (after mysociety/mapit): every boundary import is a new generation;
-- exactly one is active; old ones stay so that history still resolves.
CREATE TABLE generation (
    id            serial PRIMARY KEY,
    created_at    timestamptz NOT NULL DEFAULT now(),
    activated_at  timestamptz,
    status        text NOT NULL DEFAULT 'draft'
                  CHECK (status IN ('draft', 'active', 'retired', 'discarded')),
    description   text NOT NULL DEFAULT '',
    source        text
);
CREATE UNIQUE INDEX generation_one_active ON generation ((true)) WHERE status = 'active';

-- Stable identity of a territorial area across generations (codes never change meaning).
CREATE TABLE area (
    code        text PRIMARY KEY CHECK (code ~ '^[0-9A-Za-z_-]{1,40}$'),
    level       text NOT NULL CHECK (level IN ('district', 'street', 'community', 'grid', 'unit')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Bumped by every statement that changes boundaries or responsibilities; the in-memory
-- locator compares it (and listens on channel wangge_territory) to know when to reload.
CREATE TABLE territory_state (
    id        int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    revision  bigint NOT NULL DEFAULT 0
);
INSERT INTO territory_state (id, revision) VALUES (1, 0);

CREATE FUNCTION territory_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE territory_state SET revision = revision + 1 WHERE id = 1;
    PERFORM pg_notify('wangge_territory', TG_TABLE_NAME);
    RETURN NULL;
END $$;

CREATE TABLE district (
    id             bigserial PRIMARY KEY,
    generation_id  int NOT NULL REFERENCES generation (id) ON DELETE CASCADE,
    code           text NOT NULL REFERENCES area (code),
    name           text NOT NULL,
    geom           geometry(MultiPolygon, 4326) NOT NULL,
    UNIQUE (generation_id, code)
);

CREATE TABLE street (
    id             bigserial PRIMARY KEY,
    generation_id  int NOT NULL REFERENCES generation (id) ON DELETE CASCADE,
    code           text NOT NULL REFERENCES area (code),
    name           text NOT NULL,
    district_code  text NOT NULL,
    geom           geometry(MultiPolygon, 4326) NOT NULL,
    UNIQUE (generation_id, code),
    FOREIGN KEY (generation_id, district_code) REFERENCES district (generation_id, code),
    CHECK (starts_with(code, district_code) AND length(code) > length(district_code))
);

CREATE TABLE community (
    id             bigserial PRIMARY KEY,
    generation_id  int NOT NULL REFERENCES generation (id) ON DELETE CASCADE,
    code           text NOT NULL REFERENCES area (code),
    name           text NOT NULL,
    street_code    text NOT NULL,
    geom           geometry(MultiPolygon, 4326) NOT NULL,
    UNIQUE (generation_id, code),
    FOREIGN KEY (generation_id, street_code) REFERENCES street (generation_id, code),
    CHECK (starts_with(code, street_code) AND length(code) > length(street_code))
);

-- kind: basic grid, or a special grid (industrial zone, port, sea and islands, other special).
CREATE TABLE grid (
    id              bigserial PRIMARY KEY,
    generation_id   int NOT NULL REFERENCES generation (id) ON DELETE CASCADE,
    code            text NOT NULL REFERENCES area (code),
    name            text NOT NULL,
    community_code  text NOT NULL,
    kind            text NOT NULL DEFAULT 'basic'
                    CHECK (kind IN ('basic', 'industrial', 'port', 'sea_islands', 'special')),
    geom            geometry(MultiPolygon, 4326) NOT NULL,
    UNIQUE (generation_id, code),
    FOREIGN KEY (generation_id, community_code) REFERENCES community (generation_id, code),
    CHECK (starts_with(code, community_code) AND length(code) > length(community_code))
);

-- Minimal unit (最小单元): 1-3 buildings.
CREATE TABLE unit (
    id             bigserial PRIMARY KEY,
    generation_id  int NOT NULL REFERENCES generation (id) ON DELETE CASCADE,
    code           text NOT NULL REFERENCES area (code),
    name           text NOT NULL,
    grid_code      text NOT NULL,
    geom           geometry(MultiPolygon, 4326) NOT NULL,
    UNIQUE (generation_id, code),
    FOREIGN KEY (generation_id, grid_code) REFERENCES grid (generation_id, code),
    CHECK (starts_with(code, grid_code) AND length(code) > length(grid_code))
);

-- Subdivided copies of grid and unit polygons for fast PostGIS-side lookups.
CREATE TABLE area_piece (
    id             bigserial PRIMARY KEY,
    generation_id  int NOT NULL REFERENCES generation (id) ON DELETE CASCADE,
    level          text NOT NULL CHECK (level IN ('grid', 'unit')),
    area_id        bigint NOT NULL,
    code           text NOT NULL,
    geom           geometry(Polygon, 4326) NOT NULL
);
CREATE INDEX area_piece_geom_gist ON area_piece USING gist (geom);
CREATE INDEX area_piece_area ON area_piece (level, area_id);
CREATE INDEX area_piece_gen ON area_piece (generation_id, level);

CREATE FUNCTION area_piece_sync() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM area_piece WHERE level = TG_ARGV[0] AND area_id = OLD.id;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO area_piece (generation_id, level, area_id, code, geom)
        SELECT NEW.generation_id, TG_ARGV[0], NEW.id, NEW.code, p.geom
        FROM ST_Subdivide(NEW.geom, 128) AS s(geom), LATERAL ST_Dump(s.geom) AS p
        WHERE GeometryType(p.geom) = 'POLYGON';
    END IF;
    RETURN NULL;
END $$;

-- Valid, non-empty geometries inside the coordinate range; GiST indexes; change triggers.
DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['district', 'street', 'community', 'grid', 'unit'] LOOP
        EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom))', t, t || '_geom_valid');
        EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (ST_XMin(geom) >= -180 AND ST_XMax(geom) <= 180 AND ST_YMin(geom) >= -90 AND ST_YMax(geom) <= 90)', t, t || '_geom_range');
        EXECUTE format('CREATE INDEX %I ON %I USING gist (geom)', t || '_geom_gist', t);
        EXECUTE format('CREATE INDEX %I ON %I (code)', t || '_code', t);
        EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I FOR EACH STATEMENT EXECUTE FUNCTION territory_touch()', t || '_touch', t);
    END LOOP;
END $$;
CREATE TRIGGER grid_piece_sync AFTER INSERT OR UPDATE OF geom OR DELETE ON grid
    FOR EACH ROW EXECUTE FUNCTION area_piece_sync('grid');
CREATE TRIGGER unit_piece_sync AFTER INSERT OR UPDATE OF geom OR DELETE ON unit
    FOR EACH ROW EXECUTE FUNCTION area_piece_sync('unit');
CREATE TRIGGER generation_touch AFTER INSERT OR UPDATE OR DELETE ON generation
    FOR EACH STATEMENT EXECUTE FUNCTION territory_touch();
CREATE INDEX grid_parent ON grid (generation_id, community_code);
CREATE INDEX unit_parent ON unit (generation_id, grid_code);

-- Buildings (楼栋), upserted by (source, source_id).
CREATE TABLE building (
    id          bigserial PRIMARY KEY,
    source      text NOT NULL DEFAULT 'local',
    source_id   text NOT NULL,
    name        text,
    address     text,
    floors      int CHECK (floors IS NULL OR (floors >= 0 AND floors < 300)),
    height_m    double precision CHECK (height_m IS NULL OR height_m >= 0),
    geom        geometry(MultiPolygon, 4326) NOT NULL,
    point       geometry(Point, 4326) GENERATED ALWAYS AS (ST_PointOnSurface(geom)) STORED,
    properties  jsonb NOT NULL DEFAULT '{}'::jsonb,
    loaded_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source, source_id),
    CONSTRAINT building_geom_valid CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    CONSTRAINT building_geom_range CHECK (ST_XMin(geom) >= -180 AND ST_XMax(geom) <= 180
                                          AND ST_YMin(geom) >= -90 AND ST_YMax(geom) <= 90)
);
CREATE INDEX building_geom_gist ON building USING gist (geom);
CREATE INDEX building_point_gist ON building USING gist (point);
CREATE INDEX building_address ON building (lower(address)) WHERE address IS NOT NULL;

-- People and their roles in a grid or unit, with the period each role is held.
CREATE TABLE worker (
    id          bigserial PRIMARY KEY,
    code        text NOT NULL UNIQUE,
    name        text NOT NULL,
    phone       text,
    id_number   text,
    active      boolean NOT NULL DEFAULT true,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE grid_role (
    id          bigserial PRIMARY KEY,
    worker_id   bigint NOT NULL REFERENCES worker (id) ON DELETE CASCADE,
    area_code   text NOT NULL REFERENCES area (code),
    role        text NOT NULL CHECK (role IN ('grid_leader', 'grid_instructor', 'full_time',
                    'specialist', 'part_time', 'auxiliary', 'unit_head', 'building_head',
                    'volunteer')),
    valid_from  timestamptz NOT NULL DEFAULT now(),
    valid_to    timestamptz,
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE INDEX grid_role_area ON grid_role (area_code, role);
CREATE INDEX grid_role_worker ON grid_role (worker_id);
CREATE TRIGGER grid_role_touch AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON grid_role
    FOR EACH STATEMENT EXECUTE FUNCTION territory_touch();

-- Cameras (雪亮工程 video points).
CREATE TABLE camera (
    id             bigserial PRIMARY KEY,
    code           text NOT NULL UNIQUE,
    name           text,
    kind           text NOT NULL DEFAULT 'fixed'
                   CHECK (kind IN ('fixed', 'ptz', 'dome', 'ai', 'other')),
    direction_deg  double precision CHECK (direction_deg IS NULL OR (direction_deg >= 0 AND direction_deg < 360)),
    status         text NOT NULL DEFAULT 'online'
                   CHECK (status IN ('online', 'offline', 'fault', 'unknown')),
    geom           geometry(Point, 4326) NOT NULL,
    properties     jsonb NOT NULL DEFAULT '{}'::jsonb,
    loaded_at      timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT camera_geom_range CHECK (ST_X(geom) BETWEEN -180 AND 180 AND ST_Y(geom) BETWEEN -90 AND 90)
);
CREATE INDEX camera_geom_gist ON camera USING gist (geom);

-- Event catalogue: classes and items, loaded from an editable data file.
CREATE TABLE event_class (
    code      text PRIMARY KEY,
    name      text NOT NULL,
    name_zh   text,
    position  int NOT NULL DEFAULT 0
);
CREATE TABLE event_item (
    code           text PRIMARY KEY,
    class_code     text NOT NULL REFERENCES event_class (code) ON UPDATE CASCADE,
    name           text NOT NULL,
    name_zh        text,
    default_level  text NOT NULL DEFAULT 'grid'
                   CHECK (default_level IN ('grid', 'community', 'street', 'district')),
    time_limit_h   double precision NOT NULL DEFAULT 72 CHECK (time_limit_h > 0),
    active         boolean NOT NULL DEFAULT true,
    position       int NOT NULL DEFAULT 0
);

-- Events (事件): where they were reported, where they were located, and who answers for them.
CREATE TABLE event (
    id               bigserial PRIMARY KEY,
    uid              uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    item_code        text NOT NULL REFERENCES event_item (code) ON UPDATE CASCADE,
    source           text NOT NULL CHECK (source IN ('worker', 'resident', 'camera', 'hotline',
                         'department', 'other')),
    reporter         text,
    description      text NOT NULL DEFAULT '',
    reported_at      timestamptz NOT NULL DEFAULT now(),
    received_at      timestamptz NOT NULL DEFAULT now(),
    geom             geometry(Point, 4326),
    input_lon        double precision,
    input_lat        double precision,
    input_crs        text,
    building_id      bigint REFERENCES building (id) ON DELETE SET NULL,
    address          text,
    camera_id        bigint REFERENCES camera (id) ON DELETE SET NULL,
    location_status  text NOT NULL CHECK (location_status IN ('inside', 'outside', 'unassigned')),
    location_method  text NOT NULL CHECK (location_method IN ('point', 'building', 'address', 'none')),
    distance_m       double precision CHECK (distance_m IS NULL OR distance_m >= 0),
    generation_id    int REFERENCES generation (id),
    grid_id          bigint REFERENCES grid (id),
    unit_id          bigint REFERENCES unit (id),
    street_code      text,
    community_code   text,
    grid_code        text,
    unit_code        text,
    worker_id        bigint REFERENCES worker (id) ON DELETE SET NULL,
    status           text NOT NULL DEFAULT 'reported'
                     CHECK (status IN ('reported', 'accepted', 'dispatched', 'in_progress',
                         'resolved', 'closed', 'rejected', 'duplicate', 'reopened')),
    level            text NOT NULL DEFAULT 'grid'
                     CHECK (level IN ('grid', 'community', 'street', 'district')),
    due_at           timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    closed_at        timestamptz,
    CONSTRAINT event_geom_range CHECK (geom IS NULL OR (ST_X(geom) BETWEEN -180 AND 180
                                        AND ST_Y(geom) BETWEEN -90 AND 90)),
    CONSTRAINT event_assigned CHECK ((location_status = 'unassigned') = (grid_id IS NULL)),
    CONSTRAINT event_has_location CHECK (geom IS NOT NULL OR location_status = 'unassigned')
);
CREATE INDEX event_geom_gist ON event USING gist (geom);
CREATE INDEX event_grid_status ON event (grid_code, status);
CREATE INDEX event_status ON event (status);
CREATE INDEX event_reported_at ON event (reported_at);
CREATE INDEX event_item_code ON event (item_code);
CREATE INDEX event_worker ON event (worker_id);
CREATE INDEX event_open_grid ON event (grid_id) WHERE status NOT IN ('closed', 'rejected', 'duplicate');
CREATE INDEX event_unassigned ON event (received_at) WHERE location_status = 'unassigned';

-- Full history of every event: each location, re-assignment and status change.
CREATE TABLE event_history (
    id           bigserial PRIMARY KEY,
    event_id     bigint NOT NULL REFERENCES event (id) ON DELETE CASCADE,
    at           timestamptz NOT NULL DEFAULT now(),
    action       text NOT NULL,
    from_status  text,
    to_status    text,
    actor        text,
    note         text,
    geom         geometry(Point, 4326),
    data         jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX event_history_event ON event_history (event_id, at);

-- Idempotency-Key: a retried request lands once and gets the first answer back.
CREATE TABLE idempotency_key (
    key           text PRIMARY KEY,
    request_hash  text NOT NULL,
    status_code   int,
    response      jsonb,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Patrol tracks: GPS lines whose M value is the epoch time (seconds) of each fix.
CREATE TABLE patrol_track (
    id           bigserial PRIMARY KEY,
    uid          uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    worker_id    bigint NOT NULL REFERENCES worker (id) ON DELETE CASCADE,
    grid_code    text,
    started_at   timestamptz NOT NULL,
    ended_at     timestamptz NOT NULL,
    geom         geometry(LineStringM, 4326) NOT NULL,
    length_m     double precision NOT NULL DEFAULT 0,
    input_crs    text NOT NULL DEFAULT 'wgs84',
    received_at  timestamptz NOT NULL DEFAULT now(),
    CHECK (ended_at >= started_at),
    CONSTRAINT patrol_geom_range CHECK (ST_XMin(geom) >= -180 AND ST_XMax(geom) <= 180
                                        AND ST_YMin(geom) >= -90 AND ST_YMax(geom) <= 90)
);
CREATE INDEX patrol_track_geom_gist ON patrol_track USING gist (geom);
CREATE INDEX patrol_track_worker ON patrol_track (worker_id, started_at);
CREATE INDEX patrol_track_time ON patrol_track (started_at);
