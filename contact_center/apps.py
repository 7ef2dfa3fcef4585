from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ContactCenterConfig(AppConfig):
    name = "contact_center"
    verbose_name = _("Contact center")

    def ready(self) -> None:
        from contact_center import checks  # noqa: F401  (registers system checks)
