DROP FUNCTION responsible_worker(text, timestamptz);
DROP VIEW grid_responsibility;
