"""Benchmarks: accuracy on a synthetic corpus with known answers, and extraction speed.

``uv run python -m bench.run`` (or ``make bench``) runs both and writes ``docs/benchmarks.md``.
Benchmarks are not tests: they measure, they do not assert.
"""
