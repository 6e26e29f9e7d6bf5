"""The unit's ticket list and the engineer queue, filterable by contract, unit, status and month."""
from __future__ import annotations

from flask import Blueprint, request

from desk.errors import DeskError
from desk.incidents.queries import Filters, find_incidents, queue as open_queue, visible_contracts, visible_units
from desk.models import STATUSES
from desk.web.helpers import allowed, page, refusal_page, tz, user

bp = Blueprint("lists", __name__)


bp.register_error_handler(DeskError, refusal_page)


def _filters() -> Filters:
    args = request.args
    return Filters(contract=args.get("contract", "").strip(), unit=args.get("unit", "").strip(),
                   status=args.get("status", "").strip(), month=args.get("month", "").strip(),
                   q=args.get("q", "").strip())


def _choices() -> dict:
    person = user()
    return {"contracts": visible_contracts(person), "units": visible_units(person), "statuses": STATUSES}


@bp.get("/incidents")
@allowed("view_list")
def incidents():
    filters = _filters()
    try:
        rows = find_incidents(user(), filters, tz())
    except DeskError as exc:
        return page("incidents.html", exc.status, rows=[], filters=filters, error=exc, **_choices())
    return page("incidents.html", rows=rows, filters=filters, **_choices())


@bp.get("/queue")
@allowed("view_queue")
def queue():
    filters = _filters()
    try:
        items = open_queue(user(), filters, tz())
    except DeskError as exc:
        return page("queue.html", exc.status, items=[], filters=filters, error=exc, **_choices())
    return page("queue.html", items=items, filters=filters, **_choices())
