"""Tokens, principals and their areas, the audit log."""
