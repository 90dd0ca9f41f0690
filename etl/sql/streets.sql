-- name: street_upsert
-- Lines of one source upserted by (source, source_id); an unchanged line is not rewritten.
-- Returns one row per line written: inserted is true for a new one, false for a changed one.
INSERT INTO street_line AS s (source, source_id, name, class, geom)
SELECT :source, t.sid, t.name, t.class, ST_SetSRID(ST_GeomFromWKB(t.wkb), 4326)
FROM unnest(CAST(:ids AS text[]), CAST(:names AS text[]), CAST(:classes AS text[]),
            CAST(:wkbs AS bytea[])) AS t (sid, name, class, wkb)
ON CONFLICT (source, source_id) DO UPDATE
SET name = EXCLUDED.name, class = EXCLUDED.class, geom = EXCLUDED.geom, loaded_at = now()
WHERE s.name IS DISTINCT FROM EXCLUDED.name OR s.class <> EXCLUDED.class
   OR ST_AsEWKB(s.geom) <> ST_AsEWKB(EXCLUDED.geom)
RETURNING (xmax = 0) AS inserted;

-- name: street_remove_missing
-- Lines of the source that the new file no longer has (a street layer is loaded whole).
DELETE FROM street_line WHERE source = :source AND NOT (source_id = ANY (CAST(:ids AS text[])));

-- name: street_count
-- How many lines a source has stored.
SELECT count(*) FROM street_line WHERE source = :source;

-- name: streets_in_box
-- Street and barrier lines (of the classes asked for) near a bounding box, as WKB.
SELECT s.class AS cls, ST_AsBinary(s.geom) AS wkb
FROM street_line s
WHERE s.geom && ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax, 4326)
  AND s.class = ANY (CAST(:classes AS text[]))
ORDER BY s.source, s.source_id;

-- name: street_sources
-- The sources of stored lines and how many each has.
SELECT source, count(*) AS n FROM street_line GROUP BY source ORDER BY source;

-- name: buildings_for_draw
-- Buildings for drawing: floors as stored (NULL: unknown, imputed by the drawing, which says
-- how many and with what value) and population / households when the layer had them.
SELECT b.id, b.source, b.source_id, b.floors, ST_AsBinary(b.geom) AS wkb,
       ST_X(b.point) AS lon, ST_Y(b.point) AS lat,
       CASE WHEN coalesce(b.properties ->> 'population', b.properties ->> 'pop')
                 ~ '^[0-9]+(\.[0-9]+)?$'
            THEN CAST(coalesce(b.properties ->> 'population', b.properties ->> 'pop')
                      AS double precision) END AS population,
       CASE WHEN b.properties ->> 'households' ~ '^[0-9]+(\.[0-9]+)?$'
            THEN CAST(b.properties ->> 'households' AS double precision) END AS households
FROM building b
WHERE (:source IS NULL OR b.source = :source)
ORDER BY b.source, b.source_id;
