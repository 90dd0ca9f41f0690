"""The gis commands (the root command is composed in wangge.cli)."""
