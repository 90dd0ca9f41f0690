-- Metadata of the OGC API – Features collections.

-- name: district_extent
SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
FROM (SELECT ST_Extent(d.geom)::geometry AS e
      FROM district d JOIN generation g ON g.id = d.generation_id AND g.status = 'active') x
