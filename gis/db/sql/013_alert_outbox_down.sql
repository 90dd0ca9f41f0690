DROP TRIGGER IF EXISTS alert_outbox ON alert;
DROP FUNCTION IF EXISTS alert_fan_out();
ALTER TABLE alert_delivery DROP CONSTRAINT IF EXISTS alert_delivery_target;
DROP TABLE IF EXISTS alert_target;
