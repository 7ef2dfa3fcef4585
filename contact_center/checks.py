"""System checks for the production shape (run by `manage.py check --deploy`)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register


@register(Tags.security, deploy=True)
def embedded_defaults_in_production(app_configs, **kwargs):
    warnings = []
    if not settings.DATABASE_URL:
        warnings.append(
            Warning(
                "DATABASE_URL is not set: the embedded SQLite database is meant for one machine.",
                hint="Set DATABASE_URL=postgres://… for production.",
                id="contact_center.W001",
            )
        )
    if not settings.REDIS_URL:
        warnings.append(
            Warning(
                "REDIS_URL is not set: the in-memory channel layer cannot reach websockets in other processes.",
                hint="Set REDIS_URL=redis://… for production.",
                id="contact_center.W002",
            )
        )
    return warnings
