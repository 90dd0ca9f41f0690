-- Accounts of people who log in (worker code or phone number + password). The role, area,
-- worker and department follow the rules of api_token (gis.access.auth checks them); a
-- session is an api_token named 'session:<username>'. Only the Argon2id hash is stored.
CREATE TABLE account (
    id                    bigserial PRIMARY KEY,
    username              text NOT NULL UNIQUE CHECK (username ~ '^[A-Za-z0-9_.+-]{1,64}$'),
    password_hash         text NOT NULL CHECK (password_hash LIKE '$argon2id$%'),
    role                  text NOT NULL CHECK (role IN ('grid_worker', 'community_dispatcher',
                              'street_dispatcher', 'district_centre', 'planner', 'department')),
    area_code             text,
    worker_code           text,
    department            text,
    disabled              boolean NOT NULL DEFAULT false,
    failed_attempts       integer NOT NULL DEFAULT 0 CHECK (failed_attempts >= 0),
    locked_until          timestamptz,
    must_change_password  boolean NOT NULL DEFAULT true,
    created_at            timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE account IS 'people who log in; sessions are api_token rows (session:<username>)';
