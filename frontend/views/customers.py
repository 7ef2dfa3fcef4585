from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from accounts.audit import client_ip
from accounts.scope import visible
from crm.models import Company, Person
from crm.selectors import (
    change_history,
    company_search,
    person_with_details,
    persons_matching,
    timeline_for,
)
from crm.services import id_number_for_display, person_reveal_id_number
from frontend.forms import SearchForm
from frontend.presenters import describe_timeline
from frontend.views.common import console_page, paginate, phone_line_exists
from ticketing.models import Ticket
from ticketing.selectors import ticket_list_related
from ticketing.sla.selectors import sla_at_risk_of_customer, sla_breaches_of_customer

HISTORY_SIZE = 50


def _search_text(form: SearchForm) -> str:
    return form.cleaned_data["q"] if form.is_valid() else ""


@console_page
def customer_list(request):
    form = SearchForm(request.GET or None)
    people = persons_matching(visible(request.user, Person), _search_text(form))
    page = paginate(request, person_with_details(people))
    return render(request, "frontend/customers/list.html", {"form": form, "page": page})


def _person_or_404(request, pk: int) -> Person:
    return get_object_or_404(person_with_details(visible(request.user, Person)), pk=pk)


def _render_customer(request, person: Person, *, revealed_id_number: str = ""):
    user = request.user
    context = {
        "person": person,
        "id_number": id_number_for_display(person=person, user=user),
        "revealed_id_number": revealed_id_number,
        "can_reveal": bool(person.id_number) and user.has_perm("crm.reveal_id_number"),
        "tickets": ticket_list_related(visible(user, Ticket).filter(customer=person))[:HISTORY_SIZE],
        "timeline": describe_timeline(timeline_for(user=user, person=person)[:HISTORY_SIZE]),
        "history": change_history(person)[:HISTORY_SIZE],
        **_sla_history(user, person),
        "can_call": phone_line_exists(),
    }
    return render(request, "frontend/customers/detail.html", context)


def _sla_history(user, person: Person) -> dict:
    """The customer's SLA: breaches in the last 90 days and open tickets at risk (tickets in scope only)."""
    tickets = visible(user, Ticket)
    breaches = sla_breaches_of_customer(person_id=person.pk).filter(ticket__in=tickets)
    return {
        "sla_breaches": breaches[:HISTORY_SIZE],
        "sla_breach_count": breaches.count(),
        "sla_at_risk": sla_at_risk_of_customer(person_id=person.pk).filter(ticket__in=tickets)[:HISTORY_SIZE],
    }


@console_page
def customer_detail(request, pk: int):
    return _render_customer(request, _person_or_404(request, pk))


@console_page
@require_POST
@never_cache
def customer_reveal_id(request, pk: int):
    """Shows the clear ID number once, on this response only; the service audits it."""
    person = _person_or_404(request, pk)
    number = person_reveal_id_number(person=person, by=request.user, ip=client_ip(request))
    return _render_customer(request, person, revealed_id_number=number)


@console_page
def company_list(request):
    form = SearchForm(request.GET or None)
    companies = company_search(visible(request.user, Company), _search_text(form))
    page = paginate(request, companies.select_related("owner").prefetch_related("tags"))
    return render(request, "frontend/companies/list.html", {"form": form, "page": page})


@console_page
def company_detail(request, pk: int):
    user = request.user
    company = get_object_or_404(visible(user, Company).select_related("owner").prefetch_related("tags"), pk=pk)
    people = person_with_details(visible(user, Person).filter(company_links__company=company).distinct())
    context = {
        "company": company,
        "people": people[:HISTORY_SIZE],
        "tickets": ticket_list_related(visible(user, Ticket).filter(company=company))[:HISTORY_SIZE],
        "timeline": describe_timeline(
            timeline_for(user=user, company=company).select_related("person")[:HISTORY_SIZE], name_people_for=user
        ),
        "history": change_history(company)[:HISTORY_SIZE],
    }
    return render(request, "frontend/companies/detail.html", context)
