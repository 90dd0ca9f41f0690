DROP TABLE IF EXISTS street_line;
