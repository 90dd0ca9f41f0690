"""The nesting depth of a raw JSON body, measured before parsing (gis.safejson.depth)."""

from __future__ import annotations

import json
import random

import pytest

from gis import safejson


def _parsed_depth(v: object) -> int:
    """Depth of a parsed document: arrays and objects count, scalars do not."""
    if isinstance(v, dict):
        return 1 + max((_parsed_depth(x) for x in v.values()), default=0)
    if isinstance(v, list):
        return 1 + max((_parsed_depth(x) for x in v), default=0)
    return 0


def _doc(rnd: random.Random, depth: int) -> object:
    """A random document ``depth`` deep: one branch goes all the way down, its siblings are
    scalars (some strings hold brackets) or shallow containers."""
    def scalar() -> object:
        return rnd.choice([1, "a[{", '"}]', None, 2.5, [], {}, [1, "]"]])

    if depth == 0:
        return rnd.choice([1, "a[{", '"}]', None, 2.5])
    inner = _doc(rnd, depth - 1)
    items = [scalar() for _ in range(rnd.randint(0, 3))] + [inner]
    rnd.shuffle(items)
    if depth > 2 and rnd.random() < 0.5:
        return items
    return {f"k{i}[": v for i, v in enumerate(items)}


@pytest.mark.parametrize("seed", range(40))
def test_depth_of_small_and_large_bodies_is_that_of_the_parsed_document(seed: int) -> None:
    """Small bodies (counted in a loop) and large ones (counted with numpy) alike."""
    rnd = random.Random(seed)
    doc = _doc(rnd, rnd.randint(1, 90))
    raw = json.dumps(doc).encode()
    assert safejson.depth(raw) == _parsed_depth(doc)


def test_a_body_nested_too_deep_is_refused_before_parsing() -> None:
    """Past MAX_DEPTH: JSONRefused naming the depth, whether short or long."""
    for n in (65, 5000):
        with pytest.raises(safejson.JSONRefused) as e:
            safejson.check_depth(b"[" * n + b"]" * n)
        assert e.value.code == "too_deep" and f"nested {n} levels" in e.value.reason
    safejson.check_depth(b"[" * 64 + b"]" * 64)
