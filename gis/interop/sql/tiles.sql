-- Mapbox vector tiles (ST_AsMVT) of the platform's layers. Every tile query takes the XYZ
-- address (@z, @x, @y), the tile's @extent and @buffer (in tile units) and @margin (the buffer
-- as a share of the tile: ST_TileEnvelope's margin), and answers one bytea (empty: no
-- feature). Features are those intersecting the tile's envelope grown by the buffer, clipped
-- by ST_AsMVTGeom; the feature id is the row's id. Territory reads the active generation;
-- events only the caller's area (visible_events, the one read-scope rule).

-- name: territory_version
SELECT (SELECT id FROM generation WHERE status = 'active') AS generation,
       (SELECT revision FROM territory_state WHERE id = 1) AS revision

-- name: grids
WITH t AS (SELECT ST_TileEnvelope(:z, :x, :y) AS env,
                  ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), 4326) AS reach),
f AS (
    SELECT g.id AS fid, g.code, g.name, g.community_code, g.kind,
           ST_AsMVTGeom(ST_Transform(g.geom, 3857), t.env, :extent, :buffer, true) AS geom
    FROM t, grid g
    WHERE g.generation_id = (SELECT id FROM generation WHERE status = 'active')
      AND ST_Intersects(g.geom, t.reach))
SELECT ST_AsMVT(f, 'grids', :extent, 'geom', 'fid') FROM f WHERE f.geom IS NOT NULL

-- name: units
WITH t AS (SELECT ST_TileEnvelope(:z, :x, :y) AS env,
                  ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), 4326) AS reach),
f AS (
    SELECT u.id AS fid, u.code, u.name, u.grid_code,
           ST_AsMVTGeom(ST_Transform(u.geom, 3857), t.env, :extent, :buffer, true) AS geom
    FROM t, unit u
    WHERE u.generation_id = (SELECT id FROM generation WHERE status = 'active')
      AND ST_Intersects(u.geom, t.reach))
SELECT ST_AsMVT(f, 'units', :extent, 'geom', 'fid') FROM f WHERE f.geom IS NOT NULL

-- name: buildings
WITH t AS (SELECT ST_TileEnvelope(:z, :x, :y) AS env,
                  ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), 4326) AS reach),
f AS (
    SELECT b.id AS fid, b.id, b.name, b.floors, b.height_m,
           ST_AsMVTGeom(ST_Transform(b.geom, 3857), t.env, :extent, :buffer, true) AS geom
    FROM t, building b
    WHERE ST_Intersects(b.geom, t.reach))
SELECT ST_AsMVT(f, 'buildings', :extent, 'geom', 'fid') FROM f WHERE f.geom IS NOT NULL

-- name: cameras
WITH t AS (SELECT ST_TileEnvelope(:z, :x, :y) AS env,
                  ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), 4326) AS reach),
f AS (
    SELECT c.id AS fid, c.code, c.name, c.kind, c.status, c.direction_deg,
           ST_AsMVTGeom(ST_Transform(c.geom, 3857), t.env, :extent, :buffer, true) AS geom
    FROM t, camera c
    WHERE ST_Intersects(c.geom, t.reach))
SELECT ST_AsMVT(f, 'cameras', :extent, 'geom', 'fid') FROM f WHERE f.geom IS NOT NULL

-- name: events
-- High zoom: each event the caller may read, with its id, item and status.
WITH t AS (SELECT ST_TileEnvelope(:z, :x, :y) AS env,
                  ST_Transform(ST_TileEnvelope(:z, :x, :y, margin => :margin), 4326) AS reach),
f AS (
    SELECT e.id AS fid, e.id, e.item_code, COALESCE(i.name_zh, i.name) AS item_name,
           e.status, e.level,
           ST_AsMVTGeom(ST_Transform(e.geom, 3857), t.env, :extent, :buffer, true) AS geom
    FROM t,
         visible_events(CAST(:scope_prefixes AS text[]), CAST(:scope_department AS text)) e
         JOIN event_item i ON i.code = e.item_code
    WHERE e.geom IS NOT NULL AND ST_Intersects(e.geom, t.reach))
SELECT ST_AsMVT(f, 'events', :extent, 'geom', 'fid') FROM f WHERE f.geom IS NOT NULL

-- name: event_bins
-- Low zoom: the tile cut into @bins x @bins squares; one point at the centre of each square
-- holding events the caller may read, with their count. An event counts in the one square
-- (and the one tile) its Web Mercator position falls in: lower edges in, upper edges out.
WITH t AS (SELECT env, ST_XMin(env) AS x0, ST_YMin(env) AS y0,
                  (ST_XMax(env) - ST_XMin(env)) / :bins AS side,
                  ST_Transform(ST_Expand(env, 1.0), 4326) AS reach
           FROM (SELECT ST_TileEnvelope(:z, :x, :y) AS env) e),
p AS (
    SELECT floor((ST_X(m.g) - t.x0) / t.side) AS i, floor((ST_Y(m.g) - t.y0) / t.side) AS j
    FROM t,
         visible_events(CAST(:scope_prefixes AS text[]), CAST(:scope_department AS text)) e,
         LATERAL (SELECT ST_Transform(e.geom, 3857) AS g) m
    WHERE e.geom IS NOT NULL AND e.geom && t.reach),
c AS (
    SELECT p.i, p.j, count(*) AS count
    FROM p
    WHERE p.i BETWEEN 0 AND :bins - 1 AND p.j BETWEEN 0 AND :bins - 1
    GROUP BY p.i, p.j),
f AS (
    SELECT c.count,
           ST_AsMVTGeom(ST_Point(t.x0 + (c.i + 0.5) * t.side, t.y0 + (c.j + 0.5) * t.side,
                                 3857), t.env, :extent, 0, false) AS geom
    FROM c, t)
SELECT ST_AsMVT(f, 'events', :extent, 'geom') FROM f
