"""The built-in roles: Django groups with permissions and a data scope.

`roles_ensure()` runs after every migrate, so a fresh database has them. Admins
may change permissions later; this only adds what is missing.
"""

from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from accounts.models import DataScope, Role

ADMIN, SUPERVISOR, AGENT = "admin", "supervisor", "agent"
SALES_MANAGER, SALES_REP, MARKETER = "sales_manager", "sales_rep", "marketer"

CRM_READ = ["crm.view_person", "crm.view_company", "crm.view_tag", "crm.view_identity"]
CRM_WRITE = CRM_READ + [
    "crm.add_person",
    "crm.change_person",
    "crm.add_company",
    "crm.change_company",
    "crm.add_identity",
    "crm.change_identity",
    "crm.add_tag",
    "crm.add_customershare",
]
TICKETS_WORK = [
    "ticketing.view_ticket",
    "ticketing.add_ticket",
    "ticketing.change_ticket",
    "ticketing.view_message",
    "ticketing.add_message",
    "ticketing.view_queue",
]

# Supervisors run the floor: queues' routing rules and overflow steps, skills and who has them.
ROUTING_CONFIG = [
    *(f"routing.{a}_{m}" for m in ("queuerouting", "routingstep") for a in ("view", "add", "change", "delete")),
    "routing.view_offer",
    "routing.view_routingdecision",
    "routing.view_ticketrouting",
    *(f"accounts.{a}_{m}" for m in ("skill", "agentskill") for a in ("view", "add", "change")),
]

ROLES: dict[str, dict] = {
    ADMIN: {"name": _("Administrator"), "scope": DataScope.ALL, "perms": "__all__"},
    SUPERVISOR: {
        "name": _("Supervisor"),
        "scope": DataScope.ALL,
        "perms": CRM_WRITE
        + TICKETS_WORK
        + [
            "crm.reveal_id_number",
            "crm.export_person",
            "crm.export_company",
            "ticketing.export_ticket",
            "ticketing.assign_any_ticket",
            "ticketing.merge_ticket",
            "accounts.view_auditlog",
        ]
        + ROUTING_CONFIG,
    },
    AGENT: {
        "name": _("Agent"),
        "scope": DataScope.OWN,
        "perms": CRM_READ + ["crm.change_person", "crm.add_identity"] + TICKETS_WORK + ["ticketing.merge_ticket"],
    },
    SALES_MANAGER: {
        "name": _("Sales manager"),
        "scope": DataScope.DEPARTMENT_TREE,
        "perms": CRM_WRITE
        + ["crm.reveal_id_number", "crm.export_person", "crm.export_company", "ticketing.view_ticket"],
    },
    SALES_REP: {"name": _("Sales rep"), "scope": DataScope.OWN, "perms": CRM_WRITE + ["ticketing.view_ticket"]},
    MARKETER: {"name": _("Marketer"), "scope": DataScope.DEPARTMENT, "perms": CRM_READ},
}

GROUP_NAMES = {
    ADMIN: "Administrator",
    SUPERVISOR: "Supervisor",
    AGENT: "Agent",
    SALES_MANAGER: "Sales manager",
    SALES_REP: "Sales rep",
    MARKETER: "Marketer",
}


def _permissions(names) -> list[Permission]:
    if names == "__all__":
        return list(Permission.objects.all())
    wanted = {tuple(name.split(".", 1)) for name in names}
    found = [
        p for p in Permission.objects.select_related("content_type") if (p.content_type.app_label, p.codename) in wanted
    ]
    return found


@transaction.atomic
def roles_ensure() -> dict[str, Role]:
    roles = {}
    for code, spec in ROLES.items():
        group, _created = Group.objects.get_or_create(name=GROUP_NAMES[code])
        role, created = Role.objects.get_or_create(code=code, defaults={"group": group, "data_scope": spec["scope"]})
        if created:
            group.permissions.add(*_permissions(spec["perms"]))
        roles[code] = role
    return roles


def role_group(code: str) -> Group:
    return Role.objects.select_related("group").get(code=code).group
