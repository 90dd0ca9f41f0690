-- The field app and the resident page: photos and voice notes on events, resident reports
-- with tracking codes, and patrol tracks uploaded in chunks from a phone.

-- Attachments: a file of an event, stored in the media store by the SHA-256 of its bytes
-- (gis.media). ``step`` is the event's step it documents: 'report' (taken with the report)
-- or the action it came with ('resolve': the result, ...); ``history_id`` the history row of
-- that step when there is one. ``gps_lon``/``gps_lat``: the EXIF position of the original
-- (a hint; the stored copy has no EXIF).
CREATE TABLE attachment (
    id            bigserial PRIMARY KEY,
    event_id      bigint NOT NULL REFERENCES event (id) ON DELETE CASCADE,
    step          text NOT NULL DEFAULT 'report' CHECK (step ~ '^[a-z_]{1,32}$'),
    history_id    bigint REFERENCES event_history (id) ON DELETE SET NULL,
    kind          text NOT NULL CHECK (kind IN ('photo', 'voice')),
    media_type    text NOT NULL,
    sha256        text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    bytes         bigint NOT NULL CHECK (bytes > 0),
    width         integer,
    height        integer,
    thumb_sha256  text CHECK (thumb_sha256 IS NULL OR thumb_sha256 ~ '^[0-9a-f]{64}$'),
    gps_lon       double precision,
    gps_lat       double precision,
    uploaded_by   text,
    uploaded_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE (event_id, step, sha256)
);
CREATE INDEX attachment_event ON attachment (event_id);
CREATE INDEX attachment_sha ON attachment (sha256);

-- Resident reports (群众上报): the tracking code a resident reads their report's status
-- with, and the optional phone number (points are credited to it; shown masked only).
-- ``client_key`` is a keyed hash of the sender's address, for the rate limit.
CREATE TABLE resident_report (
    event_id       bigint PRIMARY KEY REFERENCES event (id) ON DELETE CASCADE,
    tracking_code  text NOT NULL UNIQUE CHECK (tracking_code ~ '^[A-Z0-9]{6,16}$'),
    phone          text CHECK (phone IS NULL OR phone ~ '^[0-9]{5,15}$'),
    client_key     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX resident_report_phone ON resident_report (phone, created_at) WHERE phone IS NOT NULL;
CREATE INDEX resident_report_client ON resident_report (client_key, created_at);

-- Patrol chunks: a phone uploads its GPS fixes in numbered chunks of one track (its uid);
-- a chunk sent twice lands once, and the track (patrol_track, same uid) is rebuilt from its
-- chunks after each one. ``fixes``: [[lon, lat, epoch seconds], ...] in WGS84.
CREATE TABLE patrol_chunk (
    track_uid    uuid NOT NULL,
    seq          integer NOT NULL CHECK (seq >= 0 AND seq < 100000),
    worker_id    bigint NOT NULL REFERENCES worker (id) ON DELETE CASCADE,
    fixes        jsonb NOT NULL CHECK (jsonb_typeof(fixes) = 'array'),
    final        boolean NOT NULL DEFAULT false,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (track_uid, seq)
);
CREATE INDEX patrol_chunk_worker ON patrol_chunk (worker_id, received_at);
