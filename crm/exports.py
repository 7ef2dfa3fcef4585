"""Columns of customer and company exports. ID numbers leave masked, always."""

from import_export import fields, resources

from crm.identifiers import mask_id_number
from crm.models import Company, IdentityKind, Person


class PersonExport(resources.ModelResource):
    emails = fields.Field(column_name="emails")
    phones = fields.Field(column_name="phones")
    id_number = fields.Field(column_name="id_number")
    owner = fields.Field(column_name="owner")
    companies = fields.Field(column_name="companies")
    tags = fields.Field(column_name="tags")

    class Meta:
        model = Person
        fields = (
            "id",
            "name",
            "emails",
            "phones",
            "id_number",
            "address",
            "language",
            "lifecycle_stage",
            "source",
            "service_level",
            "owner",
            "companies",
            "tags",
            "created_at",
            "updated_at",
        )
        export_order = fields

    def _identities(self, person: Person, kind: str) -> str:
        return "; ".join(i.value for i in person.identities.all() if i.kind == kind)

    def dehydrate_emails(self, person: Person) -> str:
        return self._identities(person, IdentityKind.EMAIL)

    def dehydrate_phones(self, person: Person) -> str:
        return self._identities(person, IdentityKind.PHONE)

    def dehydrate_id_number(self, person: Person) -> str:
        return mask_id_number(person.id_number)

    def dehydrate_owner(self, person: Person) -> str:
        return person.owner.get_username() if person.owner else ""

    def dehydrate_companies(self, person: Person) -> str:
        return "; ".join(link.company.name for link in person.company_links.all())

    def dehydrate_tags(self, person: Person) -> str:
        return "; ".join(tag.name for tag in person.tags.all())


class CompanyExport(resources.ModelResource):
    owner = fields.Field(column_name="owner")
    tags = fields.Field(column_name="tags")

    class Meta:
        model = Company
        fields = (
            "id",
            "name",
            "credit_code",
            "industry",
            "size",
            "region",
            "status",
            "email_domain",
            "service_level",
            "owner",
            "tags",
            "created_at",
            "updated_at",
        )
        export_order = fields

    def dehydrate_owner(self, company: Company) -> str:
        return company.owner.get_username() if company.owner else ""

    def dehydrate_tags(self, company: Company) -> str:
        return "; ".join(tag.name for tag in company.tags.all())
