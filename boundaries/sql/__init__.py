"""SQL of the boundaries package (``q(file, name, package="boundaries.sql")``)."""
