-- Statements of the engine room (gis.db.engine).
-- name: ping
-- The health check: the database answers.
SELECT 1;
-- name: jit_off
-- JIT compiling costs more than the heavy PostGIS plans save (their estimates are huge).
SET LOCAL jit = off;
