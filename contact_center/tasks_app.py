"""django_tasks_db (the job queue's tables) under a name the admin shows in the user's language.
Its own module: an apps.py with two AppConfig classes would hide contact_center's own."""

from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop
from django_tasks_db.apps import TasksAppConfig

# django_tasks_db marks its model names for translation but ships no Chinese: our catalog has them.
TASKS_STRINGS = (gettext_noop("Task Result"), gettext_noop("Task Results"))


class TasksDatabaseConfig(TasksAppConfig):
    verbose_name = _("Background jobs")
