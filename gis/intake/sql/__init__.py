"""SQL of gis.intake."""
