"""Benchmarks (``python -m bench.locate``). Each prints human lines, then one JSON line."""
