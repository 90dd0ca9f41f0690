-- Wangge workflow schema (revision 0004): tokens, audit, dispatch records, duplicate links,
-- resident points, patrol duties and the duplicate-detection trigger.

-- API tokens: only the SHA-256 of the secret is stored.
CREATE TABLE api_token (
    id            bigserial PRIMARY KEY,
    token_hash    text NOT NULL UNIQUE,
    prefix        text NOT NULL,
    role          text NOT NULL CHECK (role IN ('grid_worker', 'community_dispatcher',
                      'street_dispatcher', 'district_centre', 'planner')),
    area_code     text,
    worker_code   text,
    name          text NOT NULL DEFAULT '',
    created_at    timestamptz NOT NULL DEFAULT now(),
    expires_at    timestamptz,
    revoked_at    timestamptz,
    last_used_at  timestamptz
);

-- Every action (and every refused attempt) on the API and the workflow.
CREATE TABLE audit_log (
    id         bigserial PRIMARY KEY,
    at         timestamptz NOT NULL DEFAULT now(),
    token_id   bigint,
    role       text,
    actor      text,
    action     text NOT NULL,
    target     text,
    outcome    text NOT NULL CHECK (outcome IN ('ok', 'denied', 'refused', 'request')),
    data       jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_target ON audit_log (target);

-- Dispatch records: who must handle an event (level + area) and which departments were
-- notified (上报 + 通报), written in the same transaction as the transition.
CREATE TABLE event_dispatch (
    id               bigserial PRIMARY KEY,
    event_id         bigint NOT NULL REFERENCES event (id) ON DELETE CASCADE,
    at               timestamptz NOT NULL,
    kind             text NOT NULL CHECK (kind IN ('handle', 'notify', 'escalate', 'whistle')),
    level            text CHECK (level IN ('grid', 'community', 'street', 'district')),
    area_code        text,
    department       text,
    actor            text,
    note             text,
    acknowledged_at  timestamptz
);
CREATE INDEX event_dispatch_event ON event_dispatch (event_id, at);
CREATE INDEX event_dispatch_department ON event_dispatch (department, at) WHERE department IS NOT NULL;

-- Duplicate detection: distance and time window (one row, editable).
CREATE TABLE duplicate_config (
    id          int PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    distance_m  double precision NOT NULL DEFAULT 100 CHECK (distance_m >= 0),
    window_h    double precision NOT NULL DEFAULT 24 CHECK (window_h >= 0),
    enabled     boolean NOT NULL DEFAULT true
);
INSERT INTO duplicate_config (id) VALUES (1);

-- A new event linked to an open event of the same item nearby: possible duplicate.
CREATE TABLE event_duplicate (
    event_id     bigint NOT NULL REFERENCES event (id) ON DELETE CASCADE,
    original_id  bigint NOT NULL REFERENCES event (id) ON DELETE CASCADE,
    distance_m   double precision NOT NULL,
    gap_s        double precision NOT NULL,
    status       text NOT NULL DEFAULT 'possible'
                 CHECK (status IN ('possible', 'confirmed', 'dismissed')),
    created_at   timestamptz NOT NULL DEFAULT now(),
    decided_at   timestamptz,
    decided_by   text,
    PRIMARY KEY (event_id, original_id),
    CHECK (event_id <> original_id)
);
CREATE INDEX event_duplicate_original ON event_duplicate (original_id);
CREATE INDEX event_duplicate_possible ON event_duplicate (created_at) WHERE status = 'possible';

CREATE FUNCTION event_duplicate_detect() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    cfg duplicate_config%ROWTYPE;
    dlat float8;
    dlon float8;
BEGIN
    SELECT * INTO cfg FROM duplicate_config WHERE id = 1;
    IF NOT FOUND OR NOT cfg.enabled OR NEW.geom IS NULL THEN
        RETURN NULL;
    END IF;
    -- a degree box a little larger than the distance, so the GiST index prefilters
    dlat := cfg.distance_m / 110000.0 * 1.01;
    dlon := dlat / greatest(cos(radians(ST_Y(NEW.geom))), 0.01);
    -- the spatial candidates first (GiST on event.geom), so the cost does not grow with the
    -- number of events of the same item or in the same time window
    WITH near AS MATERIALIZED (
        SELECT o.id, o.geom, o.item_code, o.status, o.reported_at
        FROM event o
        WHERE o.geom && ST_Expand(NEW.geom, dlon, dlat)
    )
    INSERT INTO event_duplicate (event_id, original_id, distance_m, gap_s)
    SELECT NEW.id, o.id, ST_Distance(o.geom::geography, NEW.geom::geography, false),
           abs(extract(epoch FROM NEW.reported_at - o.reported_at))
    FROM near o
    WHERE o.id < NEW.id AND o.item_code = NEW.item_code
      AND o.status IN ('reported', 'accepted', 'dispatched', 'in_progress', 'resolved', 'reopened')
      AND o.reported_at BETWEEN NEW.reported_at - make_interval(secs => cfg.window_h * 3600)
                            AND NEW.reported_at + make_interval(secs => cfg.window_h * 3600)
      -- on the sphere (within 0.5 % of the spheroid, several times cheaper)
      AND ST_DWithin(o.geom::geography, NEW.geom::geography, cfg.distance_m, false)
    -- one link: the nearest open report (the earliest on a tie) is the likely original
    ORDER BY ST_Distance(o.geom::geography, NEW.geom::geography, false), o.reported_at, o.id
    LIMIT 1
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
CREATE TRIGGER event_duplicate_detect AFTER INSERT ON event
    FOR EACH ROW EXECUTE FUNCTION event_duplicate_detect();

-- Points for residents whose reports were accepted (one award per event).
CREATE TABLE resident_points (
    id          bigserial PRIMARY KEY,
    reporter    text NOT NULL,
    event_id    bigint NOT NULL UNIQUE REFERENCES event (id) ON DELETE CASCADE,
    points      int NOT NULL,
    awarded_at  timestamptz NOT NULL,
    reason      text NOT NULL DEFAULT 'accepted report'
);
CREATE INDEX resident_points_reporter ON resident_points (reporter, awarded_at);

-- Daily patrol duty per grid (grids without a row: the default from dispatch_rules.toml).
CREATE TABLE patrol_duty (
    grid_code        text PRIMARY KEY REFERENCES area (code),
    patrols_per_day  int NOT NULL DEFAULT 1 CHECK (patrols_per_day >= 0),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
