"""Columns of ticket exports."""

from import_export import fields, resources

from ticketing.models import Ticket


class TicketExport(resources.ModelResource):
    customer = fields.Field(column_name="customer")
    company = fields.Field(column_name="company")
    assignee = fields.Field(column_name="assignee")
    queue = fields.Field(column_name="queue")
    tags = fields.Field(column_name="tags")

    class Meta:
        model = Ticket
        fields = (
            "number",
            "subject",
            "status",
            "priority",
            "channel",
            "language",
            "customer",
            "company",
            "assignee",
            "queue",
            "tags",
            "created_at",
            "updated_at",
            "first_response_at",
            "solved_at",
            "closed_at",
        )
        export_order = fields

    def dehydrate_customer(self, ticket: Ticket) -> str:
        return ticket.customer.name

    def dehydrate_company(self, ticket: Ticket) -> str:
        return ticket.company.name if ticket.company else ""

    def dehydrate_assignee(self, ticket: Ticket) -> str:
        return ticket.assignee.get_username() if ticket.assignee else ""

    def dehydrate_queue(self, ticket: Ticket) -> str:
        return ticket.queue.name if ticket.queue else ""

    def dehydrate_tags(self, ticket: Ticket) -> str:
        return "; ".join(tag.name for tag in ticket.tags.all())
