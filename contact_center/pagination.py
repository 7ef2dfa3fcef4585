"""Paging of long, scoped lists (API and pages alike).

An exact count of a scoped list is a pass over every row the user may see, and
the first pages never need it. So the count is exact up to `COUNT_CAP` and
otherwise says "more than that" (`count_is_exact` is False). A page beyond the
cap is still reachable: asking for it counts exactly.
"""

from contextlib import suppress

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property

COUNT_CAP = 1000


class CappedCountPaginator(Paginator):
    count_cap = COUNT_CAP

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.count_is_exact = True
        self._wanted_page = 1

    def validate_number(self, number):
        with suppress(TypeError, ValueError):  # the parent reports a bad number
            self._wanted_page = int(number)
        return super().validate_number(number)

    @cached_property
    def count(self) -> int:
        if not isinstance(self.object_list, QuerySet) or self._wanted_page * self.per_page > self.count_cap:
            return super().count
        # COUNT(*) over a LIMITed subquery: stops at the first cap + 1 rows.
        counted = self.object_list[: self.count_cap + 1].count()
        self.count_is_exact = counted <= self.count_cap
        return counted

    @property
    def display_count(self) -> int:
        """The number to show: exact, or the cap when there are more."""
        return self.count if self.count_is_exact else self.count_cap
