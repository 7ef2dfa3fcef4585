from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RoutingConfig(AppConfig):
    name = "routing"
    verbose_name = _("Routing")

    def ready(self):
        from django.db.models.signals import m2m_changed, post_delete, post_save

        from accounts.models import AgentSkill, Team, User
        from accounts.signals import agent_presence_changed
        from routing import receivers
        from routing.snapshot import attributes_forget
        from ticketing.events import ticket_event_recorded

        ticket_event_recorded.connect(receivers.on_ticket_event, dispatch_uid="routing.ticket_event")
        for signal, sender in (
            (post_save, AgentSkill),
            (post_delete, AgentSkill),
            (m2m_changed, Team.members.through),
            (m2m_changed, User.groups.through),
        ):
            signal.connect(
                lambda **kwargs: attributes_forget(),
                sender=sender,
                weak=False,
                dispatch_uid=f"routing.{signal}.{sender}",
            )
        agent_presence_changed.connect(receivers.on_presence_changed, dispatch_uid="routing.presence")
