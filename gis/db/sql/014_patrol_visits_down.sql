DROP TRIGGER IF EXISTS patrol_track_visits ON patrol_track;
DROP FUNCTION IF EXISTS patrol_track_visits();
DROP FUNCTION IF EXISTS patrol_index_track(bigint);
DROP TABLE IF EXISTS patrol_visit, patrol_track_indexed, patrol_visit_setting;
