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
