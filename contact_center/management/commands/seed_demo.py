import os

from django.conf import settings
from django.core.management.base import BaseCommand

from contact_center.demo import seed


class Command(BaseCommand):
    help = (
        "Seed the demo: departments, teams, queues, skills, the demo users, ~300 customers, ~60 companies "
        "and ~400 tickets. Idempotent: a second run changes nothing. Prints the demo logins."
    )

    def handle(self, *args, **options):
        result = seed.seed()
        if result.created:
            counts = result.counts
            self.stdout.write(
                self.style.SUCCESS(
                    f"Demo data created in {result.seconds:.1f} s: {counts['companies']} companies, "
                    f"{counts['customers']} customers, {counts['tickets']} tickets, {counts['messages']} messages."
                )
            )
        else:
            self.stdout.write("demo data already present")
            if result.users_created:
                self.stdout.write(f"(created the missing demo users: {', '.join(result.users_created)})")
        self._print_logins(fresh=set(result.users_created))

    def _print_logins(self, fresh: set[str]) -> None:
        port = os.environ.get("PORT") or "8000"
        from_env = bool(os.environ.get("DEMO_PASSWORD") or os.environ.get("DEMO_PASSWORD_FILE"))
        password = "(the value of DEMO_PASSWORD)" if from_env else settings.DEMO_PASSWORD
        rows = seed.logins()
        width = max(len(username) for username, _ in rows) + 2
        role_width = max(len(role) for _, role in rows) + 2
        self.stdout.write("")
        self.stdout.write(f"  Contact center: http://127.0.0.1:{port}/")
        self.stdout.write("")
        self.stdout.write(f"  {'username':<{width}}{'role':<{role_width}}password")
        self.stdout.write(f"  {'-' * (width - 2):<{width}}{'-' * (role_width - 2):<{role_width}}{'-' * 8}")
        for username, role in rows:
            self.stdout.write(f"  {username:<{width}}{role:<{role_width}}{password}")
        self.stdout.write("")
        if from_env:
            self.stdout.write("  Password: DEMO_PASSWORD is set; every demo user was created with it.")
        else:
            self.stdout.write("  Password: DEMO_PASSWORD is not set; the printed default is used.")
        site_port = os.environ.get("DEMO_SITE_PORT") or "8001"
        self.stdout.write("")
        self.stdout.write(f'  Chat widget: <script src="http://127.0.0.1:{port}/widget/demo.js" async></script>')
        self.stdout.write("  works on any page served from 127.0.0.1 or localhost (any port). `make run` serves")
        self.stdout.write(f"  a demo shop page with it on http://127.0.0.1:{site_port}/ ; agent1 answers in /console/.")
        kept = [username for username, _ in rows if username not in fresh]
        if kept and fresh != {u for u, _ in rows}:
            self.stdout.write("  Users that already existed were left unchanged (including their passwords).")
