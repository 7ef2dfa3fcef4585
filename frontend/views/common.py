"""What every page of the console shares: sign-in, a strict content policy, paging."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.paginator import Page
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from contact_center.pagination import CappedCountPaginator

PAGE_SIZE = 25

# Message HTML comes from outside. It is sanitized when stored; this policy is the
# second line: no scripts but ours, no remote images (tracking pixels), no plugins.
CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "img-src 'self' data:",
        "style-src 'self' 'unsafe-inline'",
        "script-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)


def with_content_policy(response: HttpResponse) -> HttpResponse:
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    return response


def console_page(view: Callable) -> Callable:
    """A page of the console: signed-in users only, under the content policy."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        return with_content_policy(view(request, *args, **kwargs))

    return wrapper


def paginate(request: HttpRequest, queryset: QuerySet, per_page: int = PAGE_SIZE) -> Page:
    return CappedCountPaginator(queryset, per_page).get_page(request.GET.get("page"))


def phone_line_exists() -> bool:
    """Whether calls can be placed: the pages show the phone panel and call buttons only then."""
    from channels_app.twilio.models import PhoneLine  # the phone channel is optional

    return PhoneLine.objects.filter(active=True).exists()
