"""The platform composed: the HTTP app and the `wangge` command over gis, boundaries and etl."""
