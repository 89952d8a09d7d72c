"""`/settings` (issue 14 §4): the admin's index of the settings pages, and what those pages
share (the admin gate is `web.auth.AdminPage` / `AdminForm`).

SETTINGS is the index: each settings page adds itself with one line, e.g.
`SettingsLink("Schedules", "/settings/schedules", "Business hours, holidays, closed dates.")`.
The index shows only the links whose page the app serves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from starlette.routing import Match

from keepwell.store.models import AuditEntry
from keepwell.web.auth import AdminPage
from keepwell.web.pages.render import page

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class SettingsLink:
    label: str
    href: str
    about: str


SETTINGS = (
    SettingsLink("People", "/settings/users",
                 "Add people, change their role and manager, deactivate and reactivate."),
    SettingsLink("API tokens", "/settings/tokens", "Create tokens for the API, revoke them."),
    SettingsLink("Schedules", "/settings/schedules",
                 "Business hours: weekly hours, holidays, closed dates, each from a date."),
    SettingsLink("SLA targets", "/settings/sla", "First response and resolution, business time."),
    SettingsLink("Scorecard targets", "/settings/targets", "Each metric's green and yellow bands."),
    SettingsLink("Health weights", "/settings/health",
                 "What each measure weighs; the back-test's fitted weights to apply."),
    SettingsLink("Jobs", "/settings/jobs",
                 "Background jobs, failed deliveries to replay, items waiting for a mapping, "
                 "disabled alert destinations."),
)  # fmt: skip


def served(request: Request) -> list[SettingsLink]:
    """The settings pages this app serves, in SETTINGS order."""

    def serves(path: str) -> bool:
        scope = {"type": "http", "path": path, "method": "GET", "root_path": ""}
        return any(route.matches(scope)[0] == Match.FULL for route in request.app.routes)

    return [link for link in SETTINGS if serves(link.href)]


def field_error(error: Exception) -> tuple[str, str]:
    """A service's `field: message` error split for the form (the field, and the message
    said as a sentence); a message without a field goes to `form`."""
    text = str(error)
    field, sep, message = text.partition(": ")
    if not sep or not field.replace("_", "").isalnum():
        field, message = "form", text
    return field, message[:1].upper() + message[1:] + ("" if message.endswith(".") else ".")


@dataclass(frozen=True)
class HistoryLine:
    """One audit entry as a settings page's short history says it."""

    at: datetime
    by: str  # the name of who did it; "the command line" when nobody signed in
    action: str
    subject: str
    changes: list[tuple[str, object, object]]  # (what, before, after) that differ


def history_lines(entries: Iterable[AuditEntry], names: Mapping[str, str]) -> list[HistoryLine]:
    lines = []
    for entry in entries:
        before, after = entry.before or {}, entry.after or {}
        keys = [k for k in {**before, **after} if before.get(k) != after.get(k)]
        who = names.get(entry.by_id, entry.by_id) if entry.by_id else "the command line"
        kind, _, ident = entry.subject.partition(":")
        subject = names.get(ident, ident) if kind == "user" else entry.subject
        changes = [(k, before.get(k), after.get(k)) for k in keys]
        lines.append(HistoryLine(entry.at, who, entry.action, subject, changes))
    return lines


@router.get("/settings", response_class=HTMLResponse)
def settings_index(request: Request, principal: AdminPage) -> HTMLResponse:
    return page(request, "settings.html", principal, links=served(request))
