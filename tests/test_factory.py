"""The application factory (desk/__init__.py)."""
import gc


def test_what_the_process_is_built_of_is_frozen_once(app, database_url):
    """The first app of a process takes the long-lived objects out of the collector's generations;
    a second app does not freeze again (what it is made of may be dropped: the tests make many)."""
    from desk import create_app

    frozen = gc.get_freeze_count()
    assert frozen > 0
    create_app({"SQLALCHEMY_DATABASE_URI": database_url, "TESTING": True})
    assert gc.get_freeze_count() == frozen


def test_production_refuses_to_start_without_its_own_secret_key(database_url, monkeypatch):
    """The development key is in the source: a production desk signing sessions with it would take
    a forged cookie for any user, admin included."""
    import pytest

    from desk import create_app

    monkeypatch.setenv("DESK_ENV", "production")
    for key in ("dev-only-change-me", ""):  # the default in config/, and an empty SECRET_KEY=
        with pytest.raises(RuntimeError, match="SECRET_KEY"):
            create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": key})
    assert not create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "a-real-secret"}).debug
    # Elsewhere the development key serves: make run, the tests, and the benchmark's apps (DEBUG off).
    monkeypatch.setenv("DESK_ENV", "development")
    assert create_app({"SQLALCHEMY_DATABASE_URI": database_url, "DEBUG": False}).secret_key == "dev-only-change-me"
