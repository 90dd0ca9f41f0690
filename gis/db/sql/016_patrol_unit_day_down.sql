DROP TRIGGER IF EXISTS patrol_unit_day_truncate ON patrol_visit;
DROP TRIGGER IF EXISTS patrol_unit_day_add ON patrol_visit;
DROP TRIGGER IF EXISTS patrol_unit_day_remove ON patrol_track_indexed;
DROP TRIGGER IF EXISTS patrol_track_indexed_day ON patrol_track_indexed;
DROP FUNCTION IF EXISTS patrol_unit_day_truncate(), patrol_unit_day_add(),
    patrol_unit_day_remove(), patrol_track_indexed_day(), patrol_unit_day_rebuild(),
    patrol_unit_day_compact(),
    patrol_visit_day(double precision, double precision, timestamptz);
DROP TABLE IF EXISTS patrol_unit_day, patrol_unit_day_delta;
DROP INDEX IF EXISTS patrol_track_indexed_day, patrol_track_span;
ALTER TABLE patrol_track_indexed DROP COLUMN IF EXISTS day;
