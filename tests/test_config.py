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


@pytest.mark.parametrize("name, value, problem", [
    ("DESK_SESSION_IDLE_MINUTES", "abc", "'abc' is not a whole number of minutes"),
    ("DESK_SESSION_IDLE_MINUTES", "", "'' is not a whole number of minutes"),
    ("DESK_SESSION_IDLE_MINUTES", "1.5", "'1.5' is not a whole number of minutes"),
    ("DESK_SESSION_IDLE_MINUTES", "-5", "'-5' is not a whole number of minutes"),
    ("DESK_SESSION_IDLE_MINUTES", "0", "'0' must be from 1 to 527040 minutes"),
    ("DESK_SESSION_LIFETIME_HOURS", "１２", "'１２' is not a whole number of hours"),  # full-width digits
    ("DESK_SESSION_LIFETIME_HOURS", "100000", "'100000' must be from 1 to 8784 hours"),
    ("DESK_SESSION_LIFETIME_HOURS", True, "True is not a whole number of hours"),
])
def test_a_bad_session_timeout_is_refused_at_start_up_naming_it(database_url, name, value, problem):
    from desk import create_app

    with pytest.raises(ValueError) as refused:
        create_app({"SQLALCHEMY_DATABASE_URI": database_url, name: value})
    assert str(refused.value) == f"{name}: {problem}"


def test_the_session_timeouts_come_from_the_environment(database_url, tmp_path):
    """Read as the environment gives them (text), and refused there before the desk serves anything."""
    import os
    import subprocess
    import sys

    script = ("from desk import create_app; app = create_app(); "
              "print(app.config['DESK_SESSION_IDLE_MINUTES'], app.config['DESK_SESSION_LIFETIME_HOURS'])")

    def start(**env):
        return subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60,
                              env={**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'desk.sqlite3'}", **env})

    assert start().stdout.split() == ["120", "12"]
    assert start(DESK_SESSION_IDLE_MINUTES="30", DESK_SESSION_LIFETIME_HOURS=" 8 ").stdout.split() == ["30", "8"]
    refused = start(DESK_SESSION_IDLE_MINUTES="2h")
    assert refused.returncode != 0
    assert "ValueError: DESK_SESSION_IDLE_MINUTES: '2h' is not a whole number of minutes" in refused.stderr
