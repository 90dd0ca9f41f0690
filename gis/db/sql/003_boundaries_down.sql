DROP TABLE IF EXISTS event_assignment;
DROP TABLE IF EXISTS boundary_activation;
