"""Audit of sign-ins, sign-in failures, sign-outs and role/permission changes."""

from django.contrib.auth.models import Group
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db.models.signals import m2m_changed, post_save
from django.dispatch import Signal, receiver

from accounts.audit import audit_record, client_ip
from accounts.models import AuditAction, Role, User

# Sent inside agent_presence_set's transaction: sender=AgentProfile, profile, old, new.
agent_presence_changed = Signal()


@receiver(user_logged_in)
def _signed_in(sender, request, user, **kwargs):
    audit_record(actor=user, action=AuditAction.SIGN_IN, ip=client_ip(request))


@receiver(user_logged_out)
def _signed_out(sender, request, user, **kwargs):
    if user is not None:
        audit_record(actor=user, action=AuditAction.SIGN_OUT, ip=client_ip(request))


@receiver(user_login_failed)
def _sign_in_failed(sender, credentials, request=None, **kwargs):
    audit_record(
        action=AuditAction.SIGN_IN_FAILED,
        actor_name=str(credentials.get("username", ""))[:150],
        ip=client_ip(request),
    )


def _who(instance) -> dict:
    return {"model": instance._meta.label_lower, "id": instance.pk, "name": str(instance)}


@receiver(m2m_changed, sender=User.groups.through)
def _user_groups_changed(sender, instance, action, pk_set, reverse, **kwargs):
    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    audit_record(
        action=AuditAction.ROLE_CHANGE,
        target=instance,
        detail={"change": action.removeprefix("post_"), "groups" if not reverse else "users": sorted(pk_set or [])},
    )


@receiver(m2m_changed, sender=User.user_permissions.through)
@receiver(m2m_changed, sender=Group.permissions.through)
def _permissions_changed(sender, instance, action, pk_set, **kwargs):
    if action not in {"post_add", "post_remove", "post_clear"}:
        return
    audit_record(
        action=AuditAction.ROLE_CHANGE,
        target=instance,
        detail={"change": action.removeprefix("post_"), "permissions": sorted(pk_set or []), **_who(instance)},
    )


@receiver(post_save, sender=Role)
def _role_saved(sender, instance, created, **kwargs):
    audit_record(
        action=AuditAction.ROLE_CHANGE,
        target=instance,
        detail={"change": "created" if created else "updated", "data_scope": instance.data_scope},
    )
