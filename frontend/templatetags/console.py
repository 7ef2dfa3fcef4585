from django import template

from accounts.roles import ROLES
from crm.identifiers import format_phone
from frontend import presenters

register = template.Library()


@register.simple_tag
def role_names(user) -> str:
    """The user's roles in the current language ("Agent" / "坐席")."""
    if not user.is_authenticated:
        return ""
    codes = _role_codes(user)
    names = [str(ROLES[code]["name"]) for code in codes if code in ROLES]
    if not names and user.is_superuser:
        names = [str(ROLES["admin"]["name"])]
    return ", ".join(names)


@register.simple_tag(takes_context=True)
def nav_active(context, *prefixes: str) -> str:
    match = getattr(context.get("request"), "resolver_match", None)
    name = (match.url_name or "") if match else ""
    return "active" if any(name == p or name.startswith(p + "-") for p in prefixes) else ""


@register.filter
def change_label(record) -> str:
    return presenters.change_field_label(record)


@register.filter
def change_old(record) -> str:
    return presenters.change_value(record, record.old_value)


@register.filter
def change_new(record) -> str:
    return presenters.change_value(record, record.new_value)


@register.filter
def phone(value: str) -> str:
    return format_phone(value) if value else value


@register.filter
def message_html(message):
    return presenters.message_html(message)


def _role_codes(user) -> list[str]:
    """The user's role codes, read once per request (the user object is rebuilt per request)."""
    codes = getattr(user, "_role_codes", None)
    if codes is None:
        codes = list(user.groups.filter(role__isnull=False).values_list("role__code", flat=True))
        user._role_codes = codes
    return codes


@register.filter
def may_supervise(user) -> bool:
    """Whether the Supervisor board link is shown: as frontend.realtime.audience.may_use_supervisor_socket,
    with the role codes the top bar has already read."""
    from accounts.roles import ADMIN, SUPERVISOR
    from accounts.scope import grant_for

    if not (user and user.is_authenticated and user.is_active and user.has_perm("ticketing.view_ticket")):
        return False
    if user.is_superuser:
        return True
    return bool(set(_role_codes(user)) & {ADMIN, SUPERVISOR}) and grant_for(user).sees_all
