-- Boundary activations (revision 0003): which generation replaced which, and the former
-- assignment of every open event re-assigned by an activation, so a rollback restores it.
CREATE TABLE boundary_activation (
    id                 serial PRIMARY KEY,
    generation_id      int NOT NULL REFERENCES generation (id) ON DELETE CASCADE,
    previous_id        int REFERENCES generation (id) ON DELETE SET NULL,
    kind               text NOT NULL CHECK (kind IN ('activate', 'rollback')),
    at                 timestamptz NOT NULL DEFAULT now(),
    actor              text,
    events_reassigned  int NOT NULL DEFAULT 0,
    events_moved       int NOT NULL DEFAULT 0,
    rolled_back_at     timestamptz,
    summary            jsonb NOT NULL DEFAULT '{}'::jsonb
);
CREATE INDEX boundary_activation_generation ON boundary_activation (generation_id, at);

-- One row per event an activation re-assigned: where it was before (append-only, no FK to
-- event so that a million rows go in fast; rows of deleted events are simply ignored).
CREATE TABLE event_assignment (
    activation_id    int NOT NULL REFERENCES boundary_activation (id) ON DELETE CASCADE,
    event_id         bigint NOT NULL,
    generation_id    int,
    grid_id          bigint,
    unit_id          bigint,
    street_code      text,
    community_code   text,
    grid_code        text,
    unit_code        text,
    worker_id        bigint,
    location_status  text NOT NULL,
    distance_m       double precision
);
CREATE INDEX event_assignment_activation ON event_assignment USING brin (activation_id);
