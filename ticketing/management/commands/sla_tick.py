import signal
import time

from django.core.management.base import BaseCommand

from ticketing.sla.services import sla_tick


class Command(BaseCommand):
    help = "Fire due SLA warnings and breaches (the worker runs this every second as the sla_tick duty)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Sweep once and exit.")
        parser.add_argument("--every", type=float, default=1.0, help="Seconds between sweeps (default 1).")

    def handle(self, *args, once: bool, every: float, **options):
        if once:
            self.stdout.write(f"fired {sla_tick()}")
            return
        running = [True]

        def stop(*_args):
            running[0] = False

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"sla_tick: sweeping every {every:g}s")
        self.stdout.flush()
        while running[0]:
            fired = sla_tick()
            if fired:
                self.stdout.write(f"fired {fired}")
                self.stdout.flush()
            time.sleep(every)
