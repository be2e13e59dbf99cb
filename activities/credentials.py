"""Where the MySQL password of the 'clusterset' user comes from, read inside an activity and forgotten.

No secret ever crosses Temporal: requests name the Secret (`spec.credentialsSecret`), and an activity
asks a `SecretReader` for the password right before it connects. In production that is
`KubernetesSecretReader` (official kubernetes client, run in a thread because it is synchronous); tests
use `StaticSecretReader`. Neither logs the value, and `Password.__repr__` hides it.

The internal accounts the operations create (mysql_innodb_cs_*, mysql_innodb_cluster_*) get passwords
*derived* from the clusterset password with HMAC-SHA256 (`derived_password`), so a step retried after a
crash recomputes the very same password instead of inventing a new one (spec §8: the Shell's random
password refresh is not idempotent), and nothing has to be stored.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from typing import Any, Protocol

from activities.errors import AccessDenied, InvalidRequest
from api.models import SecretKeySelector

CLUSTERSET_USER = "clusterset"


class SecretReader(Protocol):
    """Reads one key of a Secret in a namespace."""

    async def password(self, *, namespace: str, selector: SecretKeySelector) -> str: ...


class StaticSecretReader:
    """Test reader: a fixed password, or a mapping (namespace, secret name, key) -> password."""

    def __init__(
        self, password: str | None = None, *, secrets: dict[tuple[str, str, str], str] | None = None
    ):
        self._password = password
        self._secrets = dict(secrets or {})
        self.reads = 0

    def set(self, password: str) -> None:
        self._password = password

    async def password(self, *, namespace: str, selector: SecretKeySelector) -> str:
        self.reads += 1
        key = (namespace, selector.name, selector.key)
        if key in self._secrets:
            return self._secrets[key]
        if self._password is None:
            raise AccessDenied(
                f"Secret {namespace}/{selector.name} has no key {selector.key!r}; create it with the "
                "password of the 'clusterset' user",
                where=f"{namespace}/{selector.name}",
            )
        return self._password


class KubernetesSecretReader:
    """Reads `spec.credentialsSecret` through the Kubernetes API (in-cluster config, else kubeconfig)."""

    def __init__(self, *, api_client: Any | None = None) -> None:
        self._api_client = api_client

    def _read(self, namespace: str, name: str, key: str) -> str:
        from kubernetes import client, config
        from kubernetes.client.exceptions import ApiException

        api_client = self._api_client
        if api_client is None:
            try:
                config.load_incluster_config()  # type: ignore[no-untyped-call]
            except config.ConfigException:
                config.load_kube_config()  # type: ignore[no-untyped-call]
            api_client = client.ApiClient()
            self._api_client = api_client
        core = client.CoreV1Api(api_client)
        try:
            secret = core.read_namespaced_secret(name, namespace)
        except ApiException as e:
            if e.status in (401, 403):
                raise AccessDenied(
                    f"the orchestrator may not read Secret {namespace}/{name} (HTTP {e.status}); grant its "
                    "service account get on secrets",
                    where=f"{namespace}/{name}",
                ) from None
            if e.status == 404:
                raise InvalidRequest(
                    f"Secret {namespace}/{name} named by spec.credentialsSecret does not exist",
                    where=f"{namespace}/{name}",
                ) from None
            raise
        data = secret.data or {}
        if key not in data:
            raise InvalidRequest(
                f"Secret {namespace}/{name} has no key {key!r} (spec.credentialsSecret.key)",
                where=f"{namespace}/{name}",
            )
        return base64.b64decode(data[key]).decode()

    async def password(self, *, namespace: str, selector: SecretKeySelector) -> str:
        return await asyncio.to_thread(self._read, namespace, selector.name, selector.key)


def derived_password(master: str, *, purpose: str) -> str:
    """A 32-character password for an internal account, stable for a given master password and purpose.

    `purpose` is e.g. the account name; changing the clusterset password rotates every derived one.
    """
    digest = hmac.new(master.encode(), f"clusterset-orchestrator/{purpose}".encode(), hashlib.sha256).digest()
    # url-safe base64 without padding, plus a fixed suffix that satisfies common password policies
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")[:28] + "Aa1_"
