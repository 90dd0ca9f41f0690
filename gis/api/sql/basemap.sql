-- Reads of a local MBTiles basemap file (SQLite; rows counted from the south, TMS).

-- name: tile
SELECT tile_data FROM tiles
WHERE zoom_level = :z AND tile_column = :x AND tile_row = :y;

-- name: format
SELECT value FROM metadata WHERE name = 'format';
