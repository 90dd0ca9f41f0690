"""SQL of gis.access."""
