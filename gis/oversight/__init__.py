"""Patrol coverage, assessment, the commanders' read model."""
