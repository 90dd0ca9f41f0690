-- Attachments of events: photos and voice notes kept in the media store (gis.intake.attachments).
-- name: lock_event
-- Taken while attachments of @event_id are added: two uploads to one step count one after
-- the other (the limit of attachments per step holds).
SELECT id FROM event WHERE id = :event_id FOR NO KEY UPDATE;
-- name: event_exists
SELECT EXISTS (SELECT 1 FROM event WHERE id = :event_id);
-- name: latest_step
-- The newest history row of action @step on the event (the step a photo of the result documents).
SELECT id FROM event_history WHERE event_id = :event_id AND action = :step
ORDER BY at DESC, id DESC LIMIT 1;
-- name: step_hashes
SELECT sha256 FROM attachment WHERE event_id = :event_id AND step = :step;
-- name: insert
INSERT INTO attachment (event_id, step, history_id, kind, media_type, sha256, bytes, width,
                        height, thumb_sha256, gps_lon, gps_lat, uploaded_by)
VALUES (:event_id, :step, :history_id, :kind, :media_type, :sha256, :bytes, :width, :height,
        :thumb_sha256, :gps_lon, :gps_lat, :uploaded_by)
ON CONFLICT (event_id, step, sha256) DO NOTHING;
-- name: by_hashes
SELECT id, event_id, step, history_id, kind, media_type, bytes, width, height, sha256,
       thumb_sha256, gps_lon, gps_lat, uploaded_by, uploaded_at
FROM attachment WHERE event_id = :event_id AND step = :step AND sha256 = ANY(:shas);
-- name: for_event
SELECT id, event_id, step, history_id, kind, media_type, bytes, width, height, sha256,
       thumb_sha256, gps_lon, gps_lat, uploaded_by, uploaded_at
FROM attachment WHERE event_id = :event_id ORDER BY uploaded_at, id;
-- name: by_id
SELECT id, event_id, step, history_id, kind, media_type, bytes, width, height, sha256,
       thumb_sha256, gps_lon, gps_lat, uploaded_by, uploaded_at
FROM attachment WHERE id = :id;
-- name: reported_by
-- True when @actor reported event @event_id (one report, not a batch) since @since: its
-- reporter may add the report's photos even when the event fell outside their own area.
SELECT EXISTS (SELECT 1 FROM audit_log
               WHERE target = 'event:' || CAST(:event_id AS text) AND action = 'event.report'
                 AND outcome = 'ok' AND actor = :actor AND at >= :since);
