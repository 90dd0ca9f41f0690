"""SQL of gis.db.engine.engine."""
