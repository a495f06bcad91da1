"""Measurements of screenrelay (``python -m benchmarks`` runs them all).

Benchmarks measure and report; they assert nothing about wall-clock times.
Results go to ``benchmarks/results/*.json``.
"""
