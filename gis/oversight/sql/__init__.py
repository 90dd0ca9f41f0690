"""SQL of gis.oversight."""
