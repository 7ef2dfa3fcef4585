"""docker-compose.yml, Dockerfile and .env.example stay consistent with the code."""

import re

import yaml
from django.core.management import get_commands

from tests.processes import ROOT

SETTINGS_SOURCE = (ROOT / "contact_center" / "settings.py").read_text()


def env_names_read_by_settings() -> set[str]:
    return set(re.findall(r'env_(?:str|bool|int|list)\("([A-Z_]+)"', SETTINGS_SOURCE))


def test_compose_has_every_process_and_service_of_the_design():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert {"web", "worker", "postgres", "redis", "elasticsearch"} <= set(compose["services"])


def test_compose_commands_exist():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    commands = get_commands()
    for name, service in compose["services"].items():
        command = service.get("command") or []
        if command[:2] == ["python", "manage.py"]:
            assert command[2] in commands, f"{name} runs unknown command {command[2]}"


def test_compose_and_env_example_only_set_variables_the_settings_read():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    known = env_names_read_by_settings()
    app_env = set(compose["x-app"]["environment"])
    assert app_env <= known, app_env - known
    example = {
        line.split("=", 1)[0]
        for line in (ROOT / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    assert example - {"POSTGRES_PASSWORD"} <= known, example - known


def test_dockerfile_serves_the_asgi_application_and_runs_unprivileged():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "contact_center.asgi:application" in dockerfile
    assert (ROOT / "contact_center" / "asgi.py").exists()
    assert re.search(r"^USER app$", dockerfile, re.M)
