-- The alert outbox, durable from the moment an alert is written. A webhook target is
-- registered (a row here) the first time a delivery round runs with it configured
-- (gis.workflow.alerts.register, which also queues the earlier alerts of a bounded horizon);
-- from then on the trigger below gives every new alert one alert_delivery row per registered
-- target in the transaction that writes the alert, so no delivery round has to run for an
-- alert to be queued, and a sender that is down for days loses nothing.
CREATE TABLE alert_target (
    name           text PRIMARY KEY CHECK (length(name) BETWEEN 1 AND 64),
    registered_at  timestamptz NOT NULL DEFAULT now()
);

-- Targets already in use are registered since their first queued alert, and every alert
-- since then that no round queued for them (the rounds looked back two days only) is queued.
INSERT INTO alert_target (name, registered_at)
SELECT d.target, min(a.created_at)
FROM alert_delivery d JOIN alert a ON a.id = d.alert_id
GROUP BY d.target;

INSERT INTO alert_delivery (alert_id, target, next_at)
SELECT a.id, t.name, a.created_at
FROM alert a JOIN alert_target t ON a.created_at >= t.registered_at
ON CONFLICT (alert_id, target) DO NOTHING;

-- Forgetting a target (DELETE FROM alert_target) drops its queue with it.
ALTER TABLE alert_delivery ADD CONSTRAINT alert_delivery_target
    FOREIGN KEY (target) REFERENCES alert_target (name) ON DELETE CASCADE;

CREATE FUNCTION alert_fan_out() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO alert_delivery (alert_id, target, next_at)
    SELECT n.id, t.name, n.created_at FROM new_rows n CROSS JOIN alert_target t;
    RETURN NULL;
END $$;

CREATE TRIGGER alert_outbox AFTER INSERT ON alert
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION alert_fan_out();
