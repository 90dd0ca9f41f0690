"""SQL of gis.workflow."""
