import time

from django.core.management.base import BaseCommand

from channels_app.duties import SEND_EVERY
from channels_app.email.outbound import outbox_send_due


class Command(BaseCommand):
    help = "Deliver queued outbound email (the worker's send_email duty)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Send what is due once, then exit.")

    def handle(self, *args, once: bool, **options):
        while True:
            sent = outbox_send_due()
            self.stdout.write(f"processed {sent} outbound email(s)")
            if once:
                return
            time.sleep(SEND_EVERY)
