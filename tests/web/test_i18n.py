"""Chinese by default, English on request: every message the pages use has its Chinese entry."""
from __future__ import annotations

import re
from pathlib import Path

from desk.models import CHANNELS, ROLES, STATUSES
from desk.sla.incidents import CAUSES, KINDS
from desk.web.catalogue import LABELS, ZH

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE_MESSAGE = re.compile(r"""_\(\s*(?:"([^"]+)"|'([^']+)')""")
VIEW_MESSAGE = re.compile(r"""(?:flash\(|run,\s*)"([^"]+)"[,)]""")


def template_messages() -> set[str]:
    found = set()
    for path in (ROOT / "templates").rglob("*.html"):
        for a, b in TEMPLATE_MESSAGE.findall(path.read_text(encoding="utf-8")):
            found.add(a or b)
    return found


def view_messages() -> set[str]:
    found = set()
    for path in (ROOT / "desk" / "web").glob("*.py"):
        found.update(VIEW_MESSAGE.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_message_has_chinese():
    messages = template_messages() | view_messages()
    assert len(messages) > 100
    missing = sorted(m for m in messages if m not in ZH)
    assert not missing, f"add to desk/web/catalogue.py ZH: {missing}"


def test_every_code_has_words_in_both_languages():
    for code in (*KINDS, *CAUSES, *STATUSES, *ROLES, *CHANNELS):
        assert code in LABELS and all(LABELS[code]), code


def test_chinese_by_default_english_on_request(app, client):
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and "登录" in page
    client.post("/language", data={"locale": "en"})
    page = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in page and "Sign in" in page and "登录" not in page.replace("中文", "")


def test_every_form_label_has_chinese():
    # check_form names a field by its label; the page translates it through ZH.
    from flask_wtf import FlaskForm
    from wtforms.fields.core import UnboundField

    from desk.web import forms

    labels = {value.args[0] for form in vars(forms).values()
              if isinstance(form, type) and issubclass(form, FlaskForm)
              for value in vars(form).values() if isinstance(value, UnboundField) and value.args}
    assert "Evidence" in labels
    assert not sorted(labels - ZH.keys()), "add to desk/web/catalogue.py ZH"
