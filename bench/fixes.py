"""Prototype fixes measured by the benchmarks (never applied outside the bench database).

``DUPLICATE_DETECT``: ``event_duplicate_detect()`` of migration 0004 compares the new event
with every same-item event of the time window through ``ST_DWithin(geom::geography, ...)``,
which no index serves, so each INSERT into ``event`` costs O(events of that item in the
window). The version below adds a geometry bounding-box prefilter (``o.geom && ST_Expand(...)``,
degrees from metres, wider than the metric radius at any latitude) so ``event_geom_gist``
narrows the candidates first; the exact ``ST_DWithin`` on geography still decides.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

DUPLICATE_DETECT = """
CREATE OR REPLACE FUNCTION event_duplicate_detect() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE cfg duplicate_config%ROWTYPE; dy float8; dx float8;
BEGIN
    SELECT * INTO cfg FROM duplicate_config WHERE id = 1;
    IF NOT FOUND OR NOT cfg.enabled OR NEW.geom IS NULL THEN
        RETURN NULL;
    END IF;
    -- a metre is at most 1/110000 degree of latitude, 1/(111000 cos(lat)) of longitude
    dy := cfg.distance_m / 110000.0;
    dx := dy / greatest(cos(radians(ST_Y(NEW.geom))), 0.01);
    INSERT INTO event_duplicate (event_id, original_id, distance_m, gap_s)
    SELECT NEW.id, o.id, ST_Distance(o.geom::geography, NEW.geom::geography),
           abs(extract(epoch FROM NEW.reported_at - o.reported_at))
    FROM event o
    WHERE o.geom && ST_Expand(NEW.geom, dx, dy)
      AND o.id < NEW.id AND o.item_code = NEW.item_code
      AND o.status IN ('reported', 'accepted', 'dispatched', 'in_progress', 'resolved', 'reopened')
      AND o.reported_at BETWEEN NEW.reported_at - make_interval(secs => cfg.window_h * 3600)
                            AND NEW.reported_at + make_interval(secs => cfg.window_h * 3600)
      AND ST_DWithin(o.geom::geography, NEW.geom::geography, cfg.distance_m)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;
"""


def apply_duplicate_detect_fix(engine: Engine) -> bool:
    """Replace the trigger function in the (bench) database; False when it does not exist."""
    with engine.begin() as conn:
        exists = conn.execute(text(
            "SELECT count(*) FROM pg_proc WHERE proname = 'event_duplicate_detect'")).scalar_one()
        if not exists:
            return False
        with conn.connection.dbapi_connection.cursor() as cur:  # no bind-param parsing
            cur.execute(DUPLICATE_DETECT)
    return True
