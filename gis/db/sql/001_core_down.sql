-- Undo revision 0001 (the postgis extension stays: other databases objects may use it).
DROP TABLE IF EXISTS patrol_track, idempotency_key, event_history, event, event_item,
    event_class, camera, grid_role, worker, building, area_piece, unit, grid, community,
    street, district, territory_state, area, generation CASCADE;
DROP FUNCTION IF EXISTS area_piece_sync() CASCADE;
DROP FUNCTION IF EXISTS territory_touch() CASCADE;
