from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FrontendConfig(AppConfig):
    name = "frontend"
    verbose_name = _("Web interface")

    def ready(self) -> None:
        # Belongs in ticketing/apps.py (not this engineer's file); dispatch_uid keeps it connected once.
        from ticketing.sla import receivers

        receivers.connect()
