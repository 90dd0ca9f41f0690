"""The engine, named SQL, migrations and the two database roles."""
