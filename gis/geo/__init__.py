"""Datums, the cell index: geometry with no database."""
