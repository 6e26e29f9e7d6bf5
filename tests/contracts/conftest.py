"""The contract's records are kept in the web desk's small world: two contracts, a user of every
role, one filed ticket."""
from tests.web.conftest import world  # noqa: F401  (the fixture shared with the web tests)
