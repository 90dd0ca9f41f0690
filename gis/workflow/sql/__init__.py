"""SQL of gis.workflow.transitions.transitions."""
