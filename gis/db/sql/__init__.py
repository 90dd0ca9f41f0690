"""SQL of gis.db: the migrations' schema files, roles, the engine's checks."""
