"""Tandem benchmarks: `python -m tests.perf` (or `make bench`); not part of the default pytest run.

Measures time to a usable tenant over real HTTP, a no-op `tandem migrate`, the API
process's memory after touching many tenants, and the snapshot-vs-pool
provisioning design; prints a Markdown report and keeps it in docs/PERFORMANCE.md.
"""

from tests.perf.model import BenchOptions, BenchResult
from tests.perf.runner import Servers, run_benchmark

__all__ = ["BenchOptions", "BenchResult", "Servers", "run_benchmark"]
