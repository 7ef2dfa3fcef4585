"""bench.routing on tiny data, so the harness cannot rot between full runs (figures come from the full run)."""

from bench import routing as bench
from routing.models import Offer, OfferStatus, TicketRouting


def test_load_sweep_reset_and_the_report(db, tmp_path):
    loaded = bench.load(agents=12, queues=2, tickets=60)
    assert loaded["tickets"] == TicketRouting.objects.filter(waiting_since__isnull=False).count() == 60
    swept = bench.sweep(seconds=20)
    assert swept["offers"] == Offer.objects.filter(status=OfferStatus.PENDING).count() > 0
    bench.reset()
    assert not Offer.objects.exists()
    cfg = bench.Config(
        quick=True,
        agents=12,
        queues=2,
        tickets=60,
        samples=3,
        sweep_seconds=20,
        postgres_url="",
        redis_url="",
        write=False,
    )
    sweeps = [{"workers": 1, "offers": swept["offers"], "seconds": 1.0, "per_second": swept["offers"]}]
    machine = {"nproc": "2", "cpu": "x", "ram": "1 GiB", "os": "Linux", "python": "3", "django": "5", "sqlite": "3"}
    machine["load"] = "0"
    lat = {"samples": 3, "p50_ms": 1.0, "p99_ms": 2.0, "receiver": "websocket", "consoles": 4}
    body = bench.render(cfg, loaded, sweeps, lat, machine)
    assert "decisions/s" in body and "p99 **2.0 ms**" in body


def test_percentile_is_nearest_rank():
    values = [float(n) for n in range(1, 101)]
    assert bench._percentile(values, 0.99) == 99.0 and bench._percentile(values, 0.5) == 50.0
