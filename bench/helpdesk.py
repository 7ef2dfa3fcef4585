"""django-helpdesk's `get_email` on the email benchmark's Dovecot mailbox, for comparison (optional).

Runs only when BENCH_HELPDESK_PYTHON names the python of a throwaway virtual environment
outside the repository with django-helpdesk installed from PyPI, e.g.

    python3 -m venv /tmp/helpdesk-venv && /tmp/helpdesk-venv/bin/pip install django-helpdesk
    BENCH_HELPDESK_PYTHON=/tmp/helpdesk-venv/bin/python .venv/bin/python -m bench.email

A minimal Django project is written to a temp dir (SQLite with the same pragmas as ours,
mail it sends to Django's in-memory backend), migrated, given one queue on the mailbox,
and `process_email` (what `manage.py get_email` runs) is timed once over the whole mailbox.
django-helpdesk deletes what it processed from the folder, so this runs after our passes.
Nothing here is imported by the product or its tests.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

SETTINGS = """
from pathlib import Path

BASE = Path(__file__).resolve().parent
SECRET_KEY = "bench-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.sites",
    "django.contrib.humanize",
    "rest_framework",
    "helpdesk",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "hd_urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(BASE / "helpdesk.sqlite3"),
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
        },
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
SITE_ID = 1
STATIC_URL = "/static/"
MEDIA_ROOT = str(BASE / "media")
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
DEFAULT_FROM_EMAIL = "support@shop.example"
HELPDESK_TEAMS_MODE_ENABLED = False
LOGGING = {"version": 1, "disable_existing_loggers": False, "root": {"level": "ERROR"}}
"""

URLS = """
from django.urls import include, path

urlpatterns = [path("helpdesk/", include("helpdesk.urls", namespace="helpdesk"))]
"""

RUNNER = """
import json, sys, time

import django

django.setup()
from django.core import mail
from helpdesk.email import process_email
from helpdesk.models import FollowUp, Queue, Ticket

host, port, user, password, folder = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
Queue.objects.create(
    title="Bench", slug="bench", email_address="support@shop.example", allow_email_submission=True,
    email_box_type="imap", email_box_host=host, email_box_port=port, email_box_ssl=False,
    email_box_user=user, email_box_pass=password, email_box_imap_folder=folder, email_box_interval=0,
)
mail.outbox = []
started = time.monotonic()
process_email(quiet=True)
seconds = time.monotonic() - started
print(json.dumps({
    "seconds": seconds,
    "tickets": Ticket.objects.count(),
    "followups": FollowUp.objects.count(),
    "sent": len(getattr(mail, "outbox", [])),
}))
"""


def version(python: str) -> str:
    completed = subprocess.run(
        [python, "-c", "import importlib.metadata as m; print(m.version('django-helpdesk'))"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return completed.stdout.strip() or "?"


def measure(python: str, *, host: str, port: int, user: str, password: str, folder: str = "INBOX") -> dict:
    """Set up the project, run `process_email` once over the folder; seconds and what it stored."""
    root = Path(tempfile.mkdtemp(prefix="cc-bench-helpdesk-"))
    try:
        (root / "hd_settings.py").write_text(SETTINGS)
        (root / "hd_urls.py").write_text(URLS)
        (root / "run.py").write_text(RUNNER)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(root),
            "PYTHONPATH": str(root),
            "DJANGO_SETTINGS_MODULE": "hd_settings",
        }

        def run(args: list[str], timeout: float) -> str:
            completed = subprocess.run(
                [python, *args], cwd=root, env=env, capture_output=True, text=True, timeout=timeout, check=False
            )
            if completed.returncode != 0:
                raise RuntimeError(f"django-helpdesk {' '.join(args[:2])} failed:\n{completed.stderr[-3000:]}")
            return completed.stdout

        run(["-m", "django", "migrate", "--no-input", "-v", "0"], 600)
        result = json.loads(run(["run.py", host, str(port), user, password, folder], 3600).strip().splitlines()[-1])
    finally:
        shutil.rmtree(root, ignore_errors=True)
    result["version"] = version(python)
    return result
