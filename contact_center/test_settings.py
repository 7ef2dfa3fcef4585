"""Settings for the test suite: the normal settings, with generated secrets under
var/test/ and fast password hashing. DATABASE_URL and REDIS_URL still choose
PostgreSQL and Redis (`make test` runs the suite on both shapes)."""

import os

os.environ.setdefault("TESTING", "1")
os.environ.setdefault("VAR_DIR", os.path.join(os.path.dirname(os.path.dirname(__file__)), "var", "test"))

from contact_center.settings import *

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = VAR_DIR / "media"  # noqa: F405
LOGGING["root"]["level"] = "WARNING"  # noqa: F405

# A file, not memory, so tests can start real worker and server processes on it;
# named per test run so concurrent runs on one machine never share a database.
DATABASES["default"].setdefault("TEST", {})  # noqa: F405
_run = os.environ.get("TEST_RUN_ID", str(os.getpid()))
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):  # noqa: F405
    DATABASES["default"]["TEST"]["NAME"] = str(VAR_DIR / f"test_db_{_run}.sqlite3")  # noqa: F405
else:
    DATABASES["default"]["TEST"]["NAME"] = f"test_{DATABASES['default']['NAME']}_{_run}"  # noqa: F405
