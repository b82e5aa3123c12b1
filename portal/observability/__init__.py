"""Observability: request and conversation ids in every log line, Prometheus metrics.

`wiring.install` puts it into an app; `metrics` holds the histograms code observes into.
"""
