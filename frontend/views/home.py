from django.shortcuts import render

from accounts.scope import grant_for, visible
from crm.models import Person
from frontend.views.common import console_page
from ticketing.models import Ticket
from ticketing.selectors import ticket_list_related, tickets_unsolved, tickets_waiting_in_teams

LIST_SIZE = 8


@console_page
def home(request):
    user = request.user
    tickets = visible(user, Ticket)
    mine = tickets_unsolved(tickets.filter(assignee=user))
    waiting = tickets_waiting_in_teams(tickets, grant_for(user).team_ids)
    return render(
        request,
        "frontend/home.html",
        {
            "my_open_count": mine.count(),
            "queue_count": waiting.count(),
            "unsolved_count": tickets_unsolved(tickets).count(),
            "customer_count": visible(user, Person).count(),
            "my_tickets": ticket_list_related(mine)[:LIST_SIZE],
            "waiting_tickets": ticket_list_related(waiting.order_by("created_at", "id"))[:LIST_SIZE],
            "has_teams": bool(grant_for(user).team_ids),
        },
    )
