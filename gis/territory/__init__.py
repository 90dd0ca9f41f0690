"""Generations, the one activation path, the locator, people."""
