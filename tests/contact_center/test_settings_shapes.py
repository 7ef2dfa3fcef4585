"""The production shape passes Django's deployment checks; the embedded default
needs no configuration; missing secrets in production are a clear error."""

import subprocess
import sys

from cryptography.fernet import Fernet

from tests.processes import ROOT

PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "x7!" + "k" * 40 + "Qz9-unit-test-only-secret",
    "FIELD_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    "DATABASE_URL": "postgres://cc:secret@db.internal:5432/contact_center",
    "REDIS_URL": "redis://redis.internal:6379/0",
    "ALLOWED_HOSTS": "support.example.com",
    "PATH": "/usr/bin:/bin",
}


def manage(args, env):
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "contact_center.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_settings_pass_check_deploy_without_warnings():
    result = manage(["check", "--deploy", "--fail-level", "WARNING"], PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_without_secret_key_refuses_to_start():
    env = {k: v for k, v in PRODUCTION.items() if k != "SECRET_KEY"}
    result = manage(["check"], env)
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_without_encryption_key_refuses_to_start():
    env = {k: v for k, v in PRODUCTION.items() if k != "FIELD_ENCRYPTION_KEY"}
    result = manage(["check"], env)
    assert "FIELD_ENCRYPTION_KEY must be set" in result.stderr


def test_embedded_default_in_production_is_flagged_by_check_deploy():
    env = {k: v for k, v in PRODUCTION.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    env["VAR_DIR"] = str(ROOT / "var" / "test" / "deploy-check")
    result = manage(["check", "--deploy"], env)
    assert "contact_center.W001" in result.stderr + result.stdout
    assert "contact_center.W002" in result.stderr + result.stdout


def test_bad_boolean_is_a_clear_error():
    result = manage(["check"], {**PRODUCTION, "DEBUG": "maybe"})
    assert "DEBUG must be a boolean" in result.stderr
