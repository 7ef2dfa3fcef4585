import time

from django.core.management.base import BaseCommand

from channels_app.duties import POLL_EVERY
from channels_app.email.inbound import PollResult, mailboxes_poll_all


class Command(BaseCommand):
    help = "Fetch new mail from every active mailbox (the worker's poll_mailboxes duty)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Poll every mailbox once, then exit.")

    def handle(self, *args, once: bool, **options):
        while True:
            for pk, outcome in mailboxes_poll_all().items():
                if isinstance(outcome, PollResult):
                    self.stdout.write(
                        f"mailbox {pk}: fetched {outcome.fetched}, stored {outcome.stored}, failed {outcome.failed}"
                    )
                else:
                    self.stderr.write(f"mailbox {pk}: {outcome}")
            if once:
                return
            time.sleep(POLL_EVERY)
