-- The desk: time limits in working time, and alerts for open pages and webhooks (an outbox).

-- An item's time limit is time_limit_h in the unit named here: 'h' hours of the clock,
-- 'wh' working hours (工作时) or 'wd' working days (工作日) of the district calendar.
ALTER TABLE event_item ADD COLUMN time_limit_unit text NOT NULL DEFAULT 'h'
    CHECK (time_limit_unit IN ('h', 'wh', 'wd'));

-- Alerts (告警): a new high-level event, or an event escalated to a level; shown at once on
-- the open desk pages of the area at ``level`` and delivered to the configured webhooks.
CREATE TABLE alert (
    id          bigserial PRIMARY KEY,
    kind        text NOT NULL CHECK (kind IN ('high_level_event', 'escalated', 'whistle')),
    event_id    bigint NOT NULL REFERENCES event (id) ON DELETE CASCADE,
    level       text NOT NULL CHECK (level IN ('grid', 'community', 'street', 'district')),
    area_code   text,
    grid_code   text,
    payload     jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX alert_created ON alert (created_at);
CREATE INDEX alert_event ON alert (event_id);

-- The outbox: one row per alert and webhook target, kept until delivered (retries with
-- back-off; a restart loses nothing: the rows are the queue).
CREATE TABLE alert_delivery (
    alert_id      bigint NOT NULL REFERENCES alert (id) ON DELETE CASCADE,
    target        text NOT NULL,
    attempts      integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_at       timestamptz NOT NULL DEFAULT now(),
    delivered_at  timestamptz,
    last_error    text,
    PRIMARY KEY (alert_id, target)
);
CREATE INDEX alert_delivery_due ON alert_delivery (next_at) WHERE delivered_at IS NULL;
