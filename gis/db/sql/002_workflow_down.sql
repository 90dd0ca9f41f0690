-- Undo revision 0004.
DROP TRIGGER IF EXISTS event_duplicate_detect ON event;
DROP FUNCTION IF EXISTS event_duplicate_detect() CASCADE;
DROP TABLE IF EXISTS patrol_duty, resident_points, event_duplicate, duplicate_config,
    event_dispatch, audit_log, api_token CASCADE;
