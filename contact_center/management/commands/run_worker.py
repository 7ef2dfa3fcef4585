import signal

from django.core.management.base import BaseCommand, CommandError

from contact_center.worker import Worker, registered_duties


class Command(BaseCommand):
    help = "Run the background worker: persisted jobs and periodic duties (IMAP, outbox, SLA, offers…)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Run every duty once and every ready job, then exit.")
        parser.add_argument("--only", default="", help="Comma-separated duty names to run (default: all).")
        parser.add_argument("--list", action="store_true", help="List the registered duties and exit.")

    def handle(self, *args, once: bool, only: str, list: bool, **options):
        duties = registered_duties()
        if list:
            for duty in duties.values():
                self.stdout.write(f"{duty.name}\tevery {duty.every:g}s")
            return
        if only:
            names = [name.strip() for name in only.split(",") if name.strip()]
            unknown = [name for name in names if name not in duties]
            if unknown:
                raise CommandError(f"Unknown duties: {', '.join(unknown)}. Known: {', '.join(duties) or 'none'}")
            duties = {name: duties[name] for name in names}
        worker = Worker(duties=duties)
        if once:
            worker.run_once()
            return
        signal.signal(signal.SIGTERM, worker.stop)
        signal.signal(signal.SIGINT, worker.stop)
        worker.run_forever()
