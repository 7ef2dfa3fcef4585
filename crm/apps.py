from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CrmConfig(AppConfig):
    name = "crm"
    verbose_name = _("Customers (CRM)")

    def ready(self) -> None:
        from accounts import scope
        from crm import selectors

        scope.register("crm.Person", selectors.persons_in_scope)
        scope.register("crm.Company", selectors.companies_in_scope)
