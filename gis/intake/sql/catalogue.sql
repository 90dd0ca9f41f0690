-- Event catalogue (gis.intake.catalogue): classes and items a district edits in TOML.
-- name: upsert_class
INSERT INTO event_class (code, name, name_zh, position)
VALUES (:code, :name, :name_zh, :position)
ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name, name_zh = EXCLUDED.name_zh,
    position = EXCLUDED.position;
-- name: active_codes
SELECT code FROM event_item WHERE active;
-- name: upsert_item
INSERT INTO event_item (code, class_code, name, name_zh, default_level, time_limit_h,
                        time_limit_unit, position, active)
VALUES (:code, :class_code, :name, :name_zh, :default_level, :time_limit_h, :time_limit_unit,
        :position, true)
ON CONFLICT (code) DO UPDATE SET class_code = EXCLUDED.class_code, name = EXCLUDED.name,
    name_zh = EXCLUDED.name_zh, default_level = EXCLUDED.default_level,
    time_limit_h = EXCLUDED.time_limit_h, time_limit_unit = EXCLUDED.time_limit_unit,
    position = EXCLUDED.position, active = true;
-- name: deactivate_missing
-- Items no longer in the file (@codes: those in it) are deactivated, never deleted.
UPDATE event_item SET active = false WHERE active AND NOT (code = ANY(:codes));
-- name: active_items
SELECT code, class_code, default_level, time_limit_h, time_limit_unit FROM event_item
WHERE active;
-- name: listed_classes
-- Classes with at least one active item, in the file's order.
SELECT code, name, name_zh FROM event_class c
WHERE EXISTS (SELECT 1 FROM event_item i WHERE i.class_code = c.code AND i.active)
ORDER BY position;
-- name: listed_items
SELECT code, class_code, name, name_zh, default_level, time_limit_h FROM event_item
WHERE active ORDER BY class_code, position;
