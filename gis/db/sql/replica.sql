-- Statements of the read replica's health check (gis.db.replica).
-- name: primary_lsn
-- How far the primary has flushed its write-ahead log: all a standby can have received.
SELECT CAST(pg_current_wal_flush_lsn() AS text) AS lsn;
-- name: replica_state
-- The standby's side: still in recovery (a hot standby); replayed up to the primary's flushed
-- position (null when that is unknown, or on a server that is no standby); replayed all it
-- received; and the age of the last transaction it replayed (null before the first).
SELECT pg_is_in_recovery() AS in_recovery,
       pg_last_wal_replay_lsn() >= CAST(:primary_lsn AS pg_lsn) AS caught_up,
       coalesce(pg_last_wal_replay_lsn() >= pg_last_wal_receive_lsn(), false) AS replayed_received,
       CAST(extract(epoch FROM clock_timestamp() - pg_last_xact_replay_timestamp()) AS float8)
           AS replay_age_s;
