"""Response models of the HTTP API: every endpoint's ``response_model``.

Where a domain function's TypedDict is the truth of what it returns, the answer is that
TypedDict (nested in a model, or subclassed here only to keep undeclared keys), so each shape
is written once; a model here lists fields only where the API's shape is its own (a docstring
says why). They describe today's JSON exactly: fields in the order the domain builds them,
times as the domain gives them (``datetime`` values, or ISO strings where the domain formats
them), and ``extra="allow"`` (``KEEP_KEYS``) so a key a domain row adds passes through instead
of being dropped. Routes whose answers leave keys out (transitions, level moves) use
``response_model_exclude_unset`` so nothing is added as ``null``.
"""

from __future__ import annotations

from typing import Any, Required
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from gis.access import auth as access_auth
from gis.intake import catalogue as intake_catalogue
from gis.intake import events as intake_events
from gis.oversight import assessment as oversight_assessment
from gis.oversight import coverage as oversight_coverage
from gis.territory import grids as territory_grids
from gis.territory import locator as territory_locator
from gis.workflow import dispatch as workflow_dispatch
from gis.workflow import duplicates as workflow_duplicates
from gis.workflow import escalation as workflow_escalation
from gis.workflow import state as workflow_state
from gis.workflow import transitions as workflow_transitions

# A measure the domain gives as int or float (rules files, rounding): kept as given.
Number = int | float
# GeoJSON geometry, typed loosely (``type`` and ``coordinates``).
Geometry = dict[str, Any]


# Keys a domain row adds are kept (not dropped) in every answer, models and TypedDicts alike.
KEEP_KEYS = ConfigDict(extra="allow")


class Answer(BaseModel):
    """Base of the answers: documented fields; keys a domain row adds are kept."""

    model_config = KEEP_KEYS


# -- meta -------------------------------------------------------------------------------------


class Health(Answer):
    """Database and locator status."""

    status: str
    generation: int | None
    revision: int
    grids: int
    units: int


class Catalogue(Answer):
    """The active catalogue."""

    classes: list[intake_catalogue.ListedClass]


# -- locate -----------------------------------------------------------------------------------


class LocationAnswer(territory_locator.LocationJSON):
    """A located point with what was asked (``input``)."""

    __pydantic_config__ = KEEP_KEYS


# -- events -----------------------------------------------------------------------------------


class StoredEvent(Answer):
    """One stored report: its ids, item, status, level and location."""

    id: int
    uid: UUID
    item: str
    class_: str = Field(alias="class")
    status: str
    level: str
    location: territory_locator.Place


class StoredBatch(Answer):
    """A stored batch, in the order sent."""

    count: int
    events: list[StoredEvent]


class EventPage(Answer):
    """A page of events, newest first; ``next_cursor`` fetches the next one."""

    count: int
    events: list[intake_events.EventRow]
    next_cursor: int | None


class EventDetail(intake_events.EventDetail):
    """One event with its full history and dispatch records: the domain's fields; history
    and dispatch, optional there, are always given here (the route asks for them)."""

    __pydantic_config__ = KEEP_KEYS
    history: Required[list[intake_events.HistoryEntry]]
    dispatch: Required[list[intake_events.DispatchRecord]]


# -- grids ------------------------------------------------------------------------------------


class GridCollection(territory_grids.GridCollection):
    """The active grids as a GeoJSON FeatureCollection."""

    __pydantic_config__ = KEEP_KEYS


class GridDetail(territory_grids.GridDetail):
    """One grid as a GeoJSON Feature with its people and open events."""

    __pydantic_config__ = KEEP_KEYS


# -- workflow ---------------------------------------------------------------------------------


class Me(Answer):
    """Role, areas and worker of the caller."""

    role: str
    areas: list[str]
    worker: str | None
    department: str | None
    actor: str
    token_id: int | None
    must_change_password: bool = Field(False, description="a session whose account must "
                                       "change its password before anything else")
    worker_name: str | None = Field(None, description="grid worker: the worker's name")
    grids: list[str] | None = Field(None, description="grid worker: the grids it works in")


class TransitionAnswer(workflow_transitions.TransitionResult):
    """A status transition; the keys after ``actor`` depend on the action (absent, not null,
    when the action has none)."""

    __pydantic_config__ = KEEP_KEYS


class LevelMove(workflow_escalation.EscalationStep):
    """An escalation or whistle (吹哨): the event climbs a level; departments are notified."""

    __pydantic_config__ = KEEP_KEYS


class WorkflowView(workflow_transitions.WorkflowView):
    """An event's workflow state: allowed actions, dispatch records, duplicate links."""

    __pydantic_config__ = KEEP_KEYS


class Notifications(Answer):
    """Department notifications the caller may see, newest first."""

    count: int
    dispatches: list[workflow_transitions.Notification]


class Acknowledgement(workflow_transitions.Acknowledgement):
    """A notification acknowledged (通报签收)."""

    __pydantic_config__ = KEEP_KEYS


class PatrolRules(Answer):
    """Patrol duty defaults of the rules."""

    patrols_per_day: int
    unit_distance_m: Number
    unvisited_days: int


class DispatchRule(Answer):
    """One dispatch rule: where it applies, the level and departments it sets."""

    item: str | None
    class_: str | None = Field(alias="class")
    at_level: str | None
    level: str | None
    departments: list[str] | None
    time_limit_h: dict[str, Number]
    time_limit_unit: str = Field("h", description="unit of time_limit_h: h clock hours, wh "
                                 "working hours, wd working days")


class DispatchRules(Answer):
    """The dispatch rules in force (departments, time limits per level, rules)."""

    departments: dict[str, str]
    limits: dict[str, Number]
    limits_unit: str = Field("h", description="unit of limits (h, wh, wd)")
    points: dict[str, int]
    patrol: PatrolRules
    rules: list[DispatchRule]


class DispatchPreview(workflow_dispatch.DispatchPreview):
    """What dispatching an item would do: level, departments, time limits."""

    __pydantic_config__ = KEEP_KEYS


class EscalationRun(Answer):
    """Events escalated by a scheduler run."""

    escalated: int
    events: list[workflow_escalation.EscalationStep]


class Overdue(Answer):
    """Open events past their due time."""

    count: int
    events: list[workflow_escalation.OverdueEvent]


class DuplicateLinks(Answer):
    """Duplicate links for dispatchers to decide."""

    count: int
    links: list[workflow_state.DuplicateLink]


class DuplicateDismissed(workflow_duplicates.LinkDismissed):
    """A possible duplicate link dismissed."""

    __pydantic_config__ = KEEP_KEYS


class DuplicateConfig(workflow_duplicates.DuplicateConfig):
    """Distance (m) and window (h) of duplicate detection."""

    __pydantic_config__ = KEEP_KEYS


# -- oversight: patrols, assessment -------------------------------------------------------------


class Coverage(oversight_coverage.CoverageReport):
    """Units passed by tracks in a period, in all and per grid."""

    __pydantic_config__ = KEEP_KEYS


class Unvisited(Answer):
    """Units not visited for N days."""

    count: int
    units: list[oversight_coverage.UnvisitedUnit]


class PatrolsDue(Answer):
    """Reminders per worker and the duties behind them."""

    count: int
    reminders: list[oversight_coverage.Reminder]
    duties: list[oversight_coverage.PatrolDue]


class DutySet(oversight_coverage.DutySet):
    """A grid's daily patrol duty, as set."""

    __pydantic_config__ = KEEP_KEYS


class Assessment(oversight_assessment.Assessment):
    """Monthly assessment (考核) per worker, grid and resident, and the standard indicators."""

    __pydantic_config__ = KEEP_KEYS


# -- access: tokens, audit ----------------------------------------------------------------------


class NewToken(access_auth.TokenCreated):
    """A new API token; ``token`` (the secret) is shown this once."""

    __pydantic_config__ = KEEP_KEYS


class Tokens(Answer):
    """API tokens (without secrets)."""

    tokens: list[access_auth.TokenRow]


class Revoked(Answer):
    """Whether the token was revoked now (false: it already was)."""

    revoked: bool


class AuditLog(Answer):
    """Audit rows, newest first."""

    count: int
    entries: list[access_auth.AuditEntry]
