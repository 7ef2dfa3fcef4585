"""Benchmarks (`make bench`): bulk loaders, a daphne server on loopback, a timing
client, query diagnostics and the writer of docs/benchmarks.md.

`python -m bench.run` is the entry point; `BENCH_QUICK=1` makes a small smoke run.
"""
