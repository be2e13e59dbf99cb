"""Temporal client and worker wiring: connection settings, data converter, tracing, codec, shutdown."""
