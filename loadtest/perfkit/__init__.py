"""Modules of loadtest/perf.py: processes, load generators, cases and the report."""
