import pytest

from routing.snapshot import attributes_forget
from tests.api.conftest import api  # noqa: F401  (the token-authenticated API client fixture)


@pytest.fixture(autouse=True)
def _fresh_agent_attributes():
    attributes_forget()  # the per-process cache of skills and teams must not outlive a test's rollback
    yield
    attributes_forget()
