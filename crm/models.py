from django.conf import settings
from django.contrib.contenttypes.fields import GenericForeignKey
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from contact_center.crypto import EncryptedTextField


class Tag(models.Model):
    name = models.CharField(_("name"), max_length=50, unique=True)
    color = models.CharField(_("colour"), max_length=7, default="#64748b")

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CompanySize(models.TextChoices):
    MICRO = "micro", _("1–9 employees")
    SMALL = "small", _("10–99 employees")
    MEDIUM = "medium", _("100–999 employees")
    LARGE = "large", _("1,000+ employees")


class CompanyStatus(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    ACTIVE = "active", _("Active")
    INACTIVE = "inactive", _("Inactive")


class LifecycleStage(models.TextChoices):
    POTENTIAL = "potential", _("Potential")
    INTERESTED = "interested", _("Interested")
    CUSTOMER = "customer", _("Customer")
    CHURNED = "churned", _("Churned")


class Source(models.TextChoices):
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    CHAT = "chat", _("Chat")
    SMS = "sms", _("SMS")
    WEBSITE = "website", _("Website")
    REFERRAL = "referral", _("Referral")
    EVENT = "event", _("Event")
    IMPORT = "import", _("Import")
    MANUAL = "manual", _("Entered by hand")


class ServiceLevel(models.TextChoices):
    STANDARD = "standard", _("Standard")
    GOLD = "gold", _("Gold")
    PLATINUM = "platinum", _("Platinum")


class Company(models.Model):
    name = models.CharField(_("name"), max_length=200, db_index=True)
    credit_code = models.CharField(_("unified social credit code"), max_length=18, unique=True, null=True, blank=True)
    industry = models.CharField(_("industry"), max_length=100, blank=True)
    size = models.CharField(_("size"), max_length=10, choices=CompanySize.choices, blank=True)
    region = models.CharField(_("region"), max_length=100, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=CompanyStatus.choices, default=CompanyStatus.PROSPECT)
    email_domain = models.CharField(_("email domain"), max_length=200, blank=True, db_index=True)
    service_level = models.CharField(
        _("service level"), max_length=10, choices=ServiceLevel.choices, default=ServiceLevel.STANDARD
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_companies",
        verbose_name=_("owner"),
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="companies", verbose_name=_("tags"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, db_index=True)

    class Meta:
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        ordering = ["name"]
        permissions = [("export_company", _("Can export companies"))]

    def __str__(self) -> str:
        return self.name


class Person(models.Model):
    name = models.CharField(_("name"), max_length=100, db_index=True)
    id_number = EncryptedTextField(_("resident ID number"), blank=True)
    # Keyed digest of the ID number: finds duplicates without storing it in clear.
    id_number_digest = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    address = models.CharField(_("address"), max_length=300, blank=True)
    language = models.CharField(_("language"), max_length=10, blank=True, help_text=_("zh or en"))
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="owned_people",
        verbose_name=_("owner"),
    )
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.MANUAL)
    lifecycle_stage = models.CharField(
        _("lifecycle stage"), max_length=12, choices=LifecycleStage.choices, default=LifecycleStage.POTENTIAL
    )
    service_level = models.CharField(
        _("service level"), max_length=10, choices=ServiceLevel.choices, default=ServiceLevel.STANDARD
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="people", verbose_name=_("tags"))
    companies = models.ManyToManyField(
        Company, through="PersonCompany", related_name="people", blank=True, verbose_name=_("companies")
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True, db_index=True)

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        ordering = ["-updated_at", "-id"]
        permissions = [
            ("reveal_id_number", _("Can reveal resident ID numbers")),
            ("export_person", _("Can export customers")),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def primary_email(self) -> str:
        return next((i.value for i in self.identities.all() if i.kind == IdentityKind.EMAIL), "")

    @property
    def primary_phone(self) -> str:
        return next((i.value for i in self.identities.all() if i.kind == IdentityKind.PHONE), "")


class PersonCompany(models.Model):
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="company_links")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, related_name="person_links")
    title = models.CharField(_("job title"), max_length=100, blank=True)
    is_primary = models.BooleanField(_("primary company"), default=True)

    class Meta:
        verbose_name = _("person at company")
        verbose_name_plural = _("people at companies")
        constraints = [models.UniqueConstraint(fields=["person", "company"], name="person_company_once")]

    def __str__(self) -> str:
        return f"{self.person_id} @ {self.company_id}"


class IdentityKind(models.TextChoices):
    EMAIL = "email", _("Email address")
    PHONE = "phone", _("Phone number")
    CHAT = "chat", _("Chat visitor")


class Identity(models.Model):
    """An address by which a person reaches us; resolves to exactly one person."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="identities", verbose_name=_("person"))
    kind = models.CharField(_("kind"), max_length=10, choices=IdentityKind.choices)
    value = models.CharField(_("value"), max_length=254)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("identity")
        verbose_name_plural = _("identities")
        ordering = ["kind", "id"]
        constraints = [models.UniqueConstraint(fields=["kind", "value"], name="identity_unique_value")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.value}"


class CustomerShare(models.Model):
    """A customer shared with a named colleague, who then sees it whatever their scope."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="shares")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shared_customers")
    shared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("customer share")
        verbose_name_plural = _("customer shares")
        constraints = [models.UniqueConstraint(fields=["person", "user"], name="customer_share_once")]

    def __str__(self) -> str:
        return f"{self.person_id} → {self.user_id}"


class ChangeRecord(models.Model):
    """One field of a customer record changed: who, when, old → new."""

    content_type = models.ForeignKey(ContentType, on_delete=models.CASCADE)
    object_id = models.PositiveBigIntegerField()
    record = GenericForeignKey("content_type", "object_id")
    field = models.CharField(_("field"), max_length=60)
    old_value = models.TextField(_("old value"), blank=True)
    new_value = models.TextField(_("new value"), blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+", verbose_name=_("changed by")
    )
    changed_at = models.DateTimeField(_("changed at"), default=timezone.now)

    class Meta:
        verbose_name = _("change")
        verbose_name_plural = _("change history")
        ordering = ["-changed_at", "-id"]
        indexes = [models.Index(fields=["content_type", "object_id", "-changed_at"])]

    def __str__(self) -> str:
        return f"{self.field}: {self.old_value} → {self.new_value}"


class TimelineEntry(models.Model):
    """Something that happened with a customer, on any channel, for the 360 view."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, null=True, blank=True, related_name="timeline")
    company = models.ForeignKey(Company, on_delete=models.CASCADE, null=True, blank=True, related_name="timeline")
    kind = models.CharField(_("kind"), max_length=40)
    summary = models.CharField(_("summary"), max_length=300)
    ref_type = models.CharField(max_length=40, blank=True)
    ref_id = models.PositiveBigIntegerField(null=True, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("timeline entry")
        verbose_name_plural = _("timeline")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["person", "-at"]), models.Index(fields=["company", "-at"])]

    def __str__(self) -> str:
        return self.summary
