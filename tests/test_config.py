"""config/__init__.py against README's configuration table: an operator sets what README names, so
every variable the configuration reads is there, and every desk setting it builds is used."""
from __future__ import annotations

import ast
import re

import pytest

from tests.conftest import ROOT

CONFIG = ROOT / "config" / "__init__.py"
READERS = {"get", "_bool", "_numbers"}  # os.environ.get(NAME, …), _bool(NAME), _numbers(NAME, …)


def _variables_read() -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(CONFIG.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call) or not node.args or not isinstance(node.args[0], ast.Constant):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        if name in READERS and isinstance(node.args[0].value, str) and node.args[0].value.isupper():
            names.add(node.args[0].value)
    return names


def _readme_variables() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    table = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    names = set()
    for line in table.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([A-Z][A-Z0-9_]+)`", line.split("|")[1]))
    return names


def test_readme_names_every_variable_the_configuration_reads_and_no_other():
    read, documented = _variables_read(), _readme_variables()
    assert "DATABASE_URL" in read and "DESK_BURST_MINUTES" in documented  # the parsers found something
    assert read - documented == set(), "read by config/ but not in README's table"
    assert documented - read == set(), "in README's table but never read"


def test_every_desk_setting_is_used_by_the_desk():
    from config import Config

    code = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "desk").rglob("*.py"))
    settings = [n for n in vars(Config) if n.startswith(("DESK_", "TWILIO_", "HOTLINE_"))]
    assert "DESK_BURST_MINUTES" in settings
    assert [n for n in settings if f'"{n}"' not in code] == []


def test_an_unknown_desk_env_is_named_with_the_choices(monkeypatch):
    from config import config_for

    monkeypatch.setenv("DESK_ENV", "prod")
    with pytest.raises(ValueError, match="DESK_ENV: 'prod' is not one of development, testing, production"):
        config_for()
    monkeypatch.setenv("DESK_ENV", "production")
    assert config_for().__name__ == "ProductionConfig"
