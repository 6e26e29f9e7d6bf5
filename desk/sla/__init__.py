"""The contracts' SLA rules (R1–R5 of the spec) as pure functions.

Nothing here imports Flask or SQLAlchemy: the engine takes plain dataclasses and
returns plain data, so every rule is tested in microseconds and the same figures
come out of the web desk, the API, the CLI and every report format.
"""
