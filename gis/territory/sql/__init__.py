"""SQL of gis.territory.generations.generations."""
