-- Alerts (告警) are written by triggers, so every path that stores or climbs an event
-- (intake, the API, the CLI, the overdue sweep) produces them in its own transaction.

-- The area code of an event at a handling level (NULL for the district).
CREATE FUNCTION alert_area(lvl text, street text, community text, grid text)
RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE lvl WHEN 'street' THEN street WHEN 'community' THEN community
                    WHEN 'grid' THEN grid ELSE NULL END
$$;

-- A new event whose handling level is street or district (the item's default_level).
CREATE FUNCTION alert_on_event_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO alert (kind, event_id, level, area_code, grid_code, payload, created_at)
    SELECT 'high_level_event', n.id, n.level,
           alert_area(n.level, n.street_code, n.community_code, n.grid_code), n.grid_code,
           jsonb_build_object('item_code', n.item_code, 'item_name', coalesce(i.name_zh, i.name),
                              'street_code', n.street_code, 'community_code', n.community_code,
                              'status', n.status, 'due_at', n.due_at),
           now()
    FROM new_rows n JOIN event_item i ON i.code = n.item_code
    WHERE n.level IN ('street', 'district');
    RETURN NULL;
END $$;

CREATE TRIGGER event_alert AFTER INSERT ON event
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION alert_on_event_insert();

-- An escalation (提级) or a whistle (吹哨) to a level, from the event's history.
CREATE FUNCTION alert_on_climb() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO alert (kind, event_id, level, area_code, grid_code, payload, created_at)
    SELECT CASE h.action WHEN 'whistle' THEN 'whistle' ELSE 'escalated' END, e.id,
           h.data ->> 'to_level',
           alert_area(h.data ->> 'to_level', e.street_code, e.community_code, e.grid_code),
           e.grid_code,
           jsonb_build_object('item_code', e.item_code, 'item_name', coalesce(i.name_zh, i.name),
                              'street_code', e.street_code, 'community_code', e.community_code,
                              'status', e.status, 'from_level', h.data ->> 'from_level',
                              'reason', h.data ->> 'reason', 'due_at', h.data ->> 'due_at'),
           now()
    FROM new_rows h JOIN event e ON e.id = h.event_id JOIN event_item i ON i.code = e.item_code
    WHERE h.action IN ('escalated', 'whistle')
      AND h.data ->> 'to_level' IN ('grid', 'community', 'street', 'district');
    RETURN NULL;
END $$;

CREATE TRIGGER event_history_alert AFTER INSERT ON event_history
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION alert_on_climb();
