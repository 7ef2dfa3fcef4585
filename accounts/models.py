from django.conf import settings
from django.contrib.auth.models import AbstractUser, Group
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Department(models.Model):
    """A node of the organisation tree (company → department → sub-department)."""

    name = models.CharField(_("name"), max_length=100)
    parent = models.ForeignKey(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="children", verbose_name=_("parent")
    )

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class User(AbstractUser):
    department = models.ForeignKey(
        Department,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="members",
        verbose_name=_("department"),
    )
    manager = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="reports", verbose_name=_("manager")
    )
    display_name = models.CharField(_("display name"), max_length=100, blank=True)
    language = models.CharField(_("language"), max_length=10, choices=settings.LANGUAGES, default="zh-hans")
    time_zone = models.CharField(_("time zone"), max_length=64, default="Asia/Shanghai")

    class Meta(AbstractUser.Meta):
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.display_name or self.get_full_name() or self.username


class DataScope(models.TextChoices):
    """The five data scopes Chinese CRM users know (数据权限)."""

    OWN = "own", _("Own records")
    OWN_AND_SUBORDINATES = "own_subordinates", _("Own and subordinates' records")
    DEPARTMENT = "department", _("Own department")
    DEPARTMENT_TREE = "department_tree", _("Department and sub-departments")
    ALL = "all", _("All records")


class Role(models.Model):
    """A Django group with the data scope its members get."""

    group = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="role", verbose_name=_("group"))
    code = models.SlugField(_("code"), max_length=40, unique=True)
    data_scope = models.CharField(_("data scope"), max_length=20, choices=DataScope.choices, default=DataScope.OWN)

    class Meta:
        verbose_name = _("role")
        verbose_name_plural = _("roles")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.group.name


class Team(models.Model):
    name = models.CharField(_("name"), max_length=100, unique=True)
    department = models.ForeignKey(
        Department, on_delete=models.SET_NULL, null=True, blank=True, related_name="teams", verbose_name=_("department")
    )
    members = models.ManyToManyField(User, related_name="teams", blank=True, verbose_name=_("members"))
    calendar = models.ForeignKey(
        "ticketing.BusinessCalendar",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="teams",
        verbose_name=_("business calendar"),
        help_text=_("SLA deadlines of the team's queues count in these hours when the queue has no calendar."),
    )

    class Meta:
        verbose_name = _("team")
        verbose_name_plural = _("teams")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Skill(models.Model):
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=100)

    class Meta:
        verbose_name = _("skill")
        verbose_name_plural = _("skills")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class Presence(models.TextChoices):
    ONLINE = "online", _("Online")
    AWAY = "away", _("Away")
    OFFLINE = "offline", _("Offline")


class AgentProfile(models.Model):
    user = models.OneToOneField(User, on_delete=models.CASCADE, related_name="agent_profile", verbose_name=_("user"))
    languages = models.JSONField(_("languages"), default=list, blank=True, help_text=_('e.g. ["zh", "en"]'))
    capacity_voice = models.PositiveSmallIntegerField(_("voice capacity"), default=1)
    capacity_chat = models.PositiveSmallIntegerField(_("chat capacity"), default=3)
    capacity_email = models.PositiveSmallIntegerField(_("email capacity"), default=10)
    capacity_sms = models.PositiveSmallIntegerField(_("SMS capacity"), default=10)
    presence = models.CharField(_("presence"), max_length=10, choices=Presence.choices, default=Presence.OFFLINE)
    presence_changed_at = models.DateTimeField(_("presence changed at"), default=timezone.now)
    last_assigned_at = models.DateTimeField(_("last assigned at"), null=True, blank=True)

    class Meta:
        verbose_name = _("agent profile")
        verbose_name_plural = _("agent profiles")

    def __str__(self) -> str:
        return str(self.user)

    def capacity_for(self, channel: str) -> int:
        return getattr(self, f"capacity_{channel}", 0)


class AgentSkill(models.Model):
    agent = models.ForeignKey(AgentProfile, on_delete=models.CASCADE, related_name="skills", verbose_name=_("agent"))
    skill = models.ForeignKey(Skill, on_delete=models.CASCADE, related_name="agents", verbose_name=_("skill"))
    level = models.PositiveSmallIntegerField(
        _("level"), validators=[MinValueValidator(1), MaxValueValidator(5)], default=3
    )

    class Meta:
        verbose_name = _("agent skill")
        verbose_name_plural = _("agent skills")
        constraints = [
            models.UniqueConstraint(fields=["agent", "skill"], name="agent_skill_once"),
            models.CheckConstraint(condition=models.Q(level__gte=1, level__lte=5), name="agent_skill_level_1_5"),
        ]

    def __str__(self) -> str:
        return f"{self.skill.code}={self.level}"


class AuditAction(models.TextChoices):
    SIGN_IN = "sign_in", _("Signed in")
    SIGN_IN_FAILED = "sign_in_failed", _("Sign-in failed")
    SIGN_OUT = "sign_out", _("Signed out")
    TOKEN_ISSUED = "token_issued", _("API token issued")
    SENSITIVE_VIEW = "sensitive_view", _("Viewed a sensitive field")
    EXPORT = "export", _("Exported records")
    ROLE_CHANGE = "role_change", _("Role or permission changed")


class AuditLog(models.Model):
    """Append-only record of security-relevant actions."""

    at = models.DateTimeField(_("at"), default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("actor")
    )
    actor_name = models.CharField(_("actor name"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=20, choices=AuditAction.choices, db_index=True)
    target_type = models.CharField(_("target type"), max_length=60, blank=True)
    target_id = models.CharField(_("target id"), max_length=60, blank=True)
    detail = models.JSONField(_("detail"), default=dict, blank=True)
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)

    class Meta:
        verbose_name = _("audit log entry")
        verbose_name_plural = _("audit log")
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_name} {self.action}"
