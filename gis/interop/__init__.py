"""Interoperability: OGC API – Features collections over the platform's tables."""
