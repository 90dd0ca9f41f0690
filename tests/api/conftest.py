"""Fixtures of the API tests."""

from __future__ import annotations

import pytest
from support.workflow import bearer, clear_workflow


@pytest.fixture()
def client(api, demo_district, engine, owner_engine):
    """The api fixture on the demo district with no workflow rows, as the district centre
    (a script token). A test module that needs another client defines its own ``client``."""
    clear_workflow(owner_engine)
    api.app.state.locator.refresh(force=True)
    api.headers.update(bearer(engine, "district_centre", name="centre"))
    return api
