DROP TRIGGER IF EXISTS event_history_alert ON event_history;
DROP TRIGGER IF EXISTS event_alert ON event;
DROP FUNCTION IF EXISTS alert_on_climb();
DROP FUNCTION IF EXISTS alert_on_event_insert();
DROP FUNCTION IF EXISTS alert_area(text, text, text, text);
