DROP TABLE IF EXISTS alert_delivery, alert;
ALTER TABLE event_item DROP COLUMN IF EXISTS time_limit_unit;
