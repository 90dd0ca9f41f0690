-- Streets and other barriers (街巷、河道、铁路): the lines that unit and grid drawing follow.
-- (The table street is the administrative level 街道; these are the lines: street_line.)
-- class is the OSM highway class (primary, residential, ...) or 'water' / 'rail' for
-- barriers; upserted by (source, source_id) like buildings.
CREATE TABLE street_line (
    id          bigserial PRIMARY KEY,
    source      text NOT NULL DEFAULT 'local',
    source_id   text NOT NULL,
    name        text,
    class       text NOT NULL CHECK (class ~ '^[a-z0-9_]{1,40}$'),
    geom        geometry(Geometry, 4326) NOT NULL,
    loaded_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source, source_id),
    CONSTRAINT street_line_geom_type CHECK (GeometryType(geom) IN ('LINESTRING', 'MULTILINESTRING')),
    CONSTRAINT street_line_geom_valid CHECK (NOT ST_IsEmpty(geom)),
    CONSTRAINT street_line_geom_range CHECK (geom @ ST_MakeEnvelope(-180, -90, 180, 90, 4326))
);
CREATE INDEX street_line_geom_gist ON street_line USING gist (geom);
CREATE INDEX street_line_class ON street_line (class);

COMMENT ON TABLE street_line IS 'street centre lines and barriers (water, rail) used by drawing';
