from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts and permissions")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from accounts import signals  # noqa: F401  (audit of sign-ins and role changes)

        post_migrate.connect(_ensure_roles, sender=self)


def _ensure_roles(sender, using="default", **kwargs) -> None:
    # After the last app's permissions exist: post_migrate of accounts runs once per
    # migrate, after all apps' migrations, and create_permissions has run for all.
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using)
    from accounts.roles import roles_ensure

    roles_ensure()
