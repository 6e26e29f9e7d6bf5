"""The monthly SLA report as a page and as downloads: the same figures in every format."""
from __future__ import annotations

import json

from flask import Blueprint, Response, request

from desk.errors import DeskError, NotFound, ValidationFailed
from desk.reports import labels
from desk.reports.charts import all_charts
from desk.reports.hashing import report_hash
from desk.reports.services import CONTENT_TYPES, monthly_report, render_report, report_meta
from desk.timeparse import parse_instant
from desk.web.helpers import allowed, contract_for, page

bp = Blueprint("reports", __name__)
FORMATS = ("json", "csv", "xlsx", "pdf")


@bp.errorhandler(DeskError)
def _refused(exc: DeskError):
    return page("error.html", exc.status, error=exc)


def _report(code: str, month: str):
    contract = contract_for(code)
    as_of = None
    if request.args.get("as_of"):
        try:
            as_of = parse_instant(request.args["as_of"], contract.timezone)
        except ValueError as exc:
            raise ValidationFailed(f"as_of: {exc}")
    return contract, monthly_report(code, month, as_of)


@bp.get("/contracts/<code>/reports/<month>")
@allowed("view_contract")
def show(code: str, month: str):
    contract, report = _report(code, month)
    from desk.web.i18n import language

    lang = language()
    meta = report_meta(contract, report, lang)
    return page("report.html", contract=contract, report=report, charts=all_charts(report, meta),
                w=labels.words(lang), kinds=labels.KINDS[lang], causes=labels.CAUSES[lang],
                local=lambda v: labels.local_text(v, contract.timezone),
                clause=lambda key: labels.clause_text(meta, key, labels.words(lang)), has_waivers=meta.has_waivers,
                payments=meta.payments(), adjustments=meta.adjustments, digest=report_hash(report), formats=FORMATS,
                decisions=[labels.decision_sentence(d, meta, labels.words(lang)) for d in meta.decisions],
                query=request.query_string.decode("ascii", "replace"))


@bp.get("/contracts/<code>/reports/<month>/<fmt>")
@allowed("view_contract")
def download(code: str, month: str, fmt: str):
    if fmt not in FORMATS:
        raise NotFound(f"no report format {fmt!r}; choose one of {', '.join(FORMATS)}")
    lang = _download_language()
    contract, report = _report(code, month)
    if fmt == "json":
        body, content_type = json.dumps(report, ensure_ascii=False, indent=2).encode("utf-8"), "application/json"
    else:
        body, content_type = render_report(contract, report, fmt, lang), CONTENT_TYPES[fmt]
    # The figures are the same in either language; the words are not: the name and headers say which.
    suffix = "" if fmt == "json" or lang == "zh" else f"-{lang}"
    name = f"sla-{contract.code}-{report['month']}{'' if report['final'] else '-draft'}{suffix}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{name}"', "X-Report-Hash": report_hash(report),
               "Vary": "Cookie"}  # without ?lang the words follow the signed-in user's language
    if fmt != "json":
        headers["Content-Language"] = "zh-CN" if lang == "zh" else "en"
    return Response(body, content_type=content_type, headers=headers)


def _download_language() -> str:
    """?lang=zh|en when given, else the language of the interface."""
    from desk.web.i18n import LANGUAGES, language

    chosen = request.args.get("lang")
    if chosen is None:
        return language()
    if chosen not in LANGUAGES:
        raise ValidationFailed(f"lang: one of {', '.join(LANGUAGES)}")
    return chosen
