from django.apps import AppConfig


class ContactCenterConfig(AppConfig):
    name = "contact_center"
    verbose_name = "Contact center"

    def ready(self) -> None:
        from contact_center import checks  # noqa: F401  (registers system checks)
