"""Benchmarks: run with `nox -s bench`; results land in docs/benchmarks.md and docs/benchmarks.json."""
