DROP TABLE IF EXISTS patrol_chunk, resident_report, attachment;
