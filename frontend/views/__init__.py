"""The console's pages. Each view asks record scope for its records and calls a
service for every change; nothing here decides a business rule."""

from frontend.views.attachments import attachment_download
from frontend.views.auth import SignInView, SignOutView
from frontend.views.customers import company_detail, company_list, customer_detail, customer_list, customer_reveal_id
from frontend.views.home import home
from frontend.views.tickets import ticket_detail, ticket_list, ticket_message, ticket_status, ticket_take

__all__ = [
    "SignInView",
    "SignOutView",
    "attachment_download",
    "company_detail",
    "company_list",
    "customer_detail",
    "customer_list",
    "customer_reveal_id",
    "home",
    "ticket_detail",
    "ticket_list",
    "ticket_message",
    "ticket_status",
    "ticket_take",
]
