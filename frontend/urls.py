from django.urls import path
from django.views.i18n import JavaScriptCatalog

from frontend import views
from frontend.views import console, supervisor

urlpatterns = [
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
    path("", views.home, name="home"),
    path("tickets/", views.ticket_list, name="ticket-list"),
    path("tickets/<int:number>/", views.ticket_detail, name="ticket-detail"),
    path("tickets/<int:number>/messages/", views.ticket_message, name="ticket-message"),
    path("tickets/<int:number>/status/", views.ticket_status, name="ticket-status"),
    path("tickets/<int:number>/take/", views.ticket_take, name="ticket-take"),
    path("customers/", views.customer_list, name="customer-list"),
    path("customers/<int:pk>/", views.customer_detail, name="customer-detail"),
    path("customers/<int:pk>/reveal-id/", views.customer_reveal_id, name="customer-reveal-id"),
    path("companies/", views.company_list, name="company-list"),
    path("companies/<int:pk>/", views.company_detail, name="company-detail"),
    path("console/", console.console, name="console"),
    path("console/api/inbox/", console.console_inbox, name="console-inbox"),
    path("console/api/options/", console.console_options, name="console-options"),
    path("console/api/presence/", console.console_presence, name="console-presence"),
    path("console/api/tickets/<int:ticket_id>/", console.console_ticket, name="console-ticket"),
    path("console/api/tickets/<int:ticket_id>/read/", console.console_ticket_read, name="console-ticket-read"),
    path("console/api/tickets/<int:ticket_id>/messages/", console.console_message, name="console-message"),
    path("supervisor/", supervisor.supervisor_board, name="supervisor-board"),
    path("supervisor/api/board/", supervisor.supervisor_board_data, name="supervisor-board-data"),
    path("jsi18n/", JavaScriptCatalog.as_view(), name="javascript-catalog"),
    path("attachments/<int:pk>/download/", views.attachment_download, name="attachment-download"),
]
