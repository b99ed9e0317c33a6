"""Benchmarks of clusteredge.calico (not part of the test run): see docs/benchmarks.md."""
