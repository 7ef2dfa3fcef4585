"""Sign-ins, failures, sign-outs and role/permission changes land in the audit log."""

from django.contrib.auth import authenticate
from django.contrib.auth.models import Permission

from accounts.models import AuditAction, AuditLog, DataScope, Role
from accounts.roles import SUPERVISOR, role_group
from tests.factories import PASSWORD


def actions():
    return list(AuditLog.objects.order_by("id").values_list("action", "actor_name"))


def test_sign_in_and_failure_are_recorded(org, client):
    AuditLog.objects.all().delete()
    assert client.login(username="agent_zh", password=PASSWORD)
    assert authenticate(username="agent_zh", password="wrong") is None
    client.logout()
    assert actions() == [
        (AuditAction.SIGN_IN, "agent_zh"),
        (AuditAction.SIGN_IN_FAILED, "agent_zh"),
        (AuditAction.SIGN_OUT, "agent_zh"),
    ]


def test_role_and_permission_changes_are_recorded(org):
    AuditLog.objects.all().delete()
    org.agent_zh.groups.add(role_group(SUPERVISOR))
    role_group(SUPERVISOR).permissions.add(Permission.objects.get(codename="view_auditlog"))
    role = Role.objects.get(code=SUPERVISOR)
    role.data_scope = DataScope.DEPARTMENT
    role.save()
    entries = list(AuditLog.objects.order_by("id"))
    assert [e.action for e in entries] == [AuditAction.ROLE_CHANGE] * 3
    assert entries[0].target_id == str(org.agent_zh.id)
    assert entries[2].detail == {"change": "updated", "data_scope": "department"}
