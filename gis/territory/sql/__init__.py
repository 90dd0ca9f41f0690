"""SQL of gis.territory."""
