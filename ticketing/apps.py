from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketingConfig(AppConfig):
    name = "ticketing"
    verbose_name = _("Tickets")

    def ready(self) -> None:
        from accounts import scope
        from ticketing import selectors

        scope.register("ticketing.Ticket", selectors.tickets_in_scope)
