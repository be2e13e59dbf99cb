"""kubesim: a local Kubernetes API server for tests and `make demo`.

Enough of the real API that the official `kubernetes` client and kubectl work against it unchanged:
discovery and OpenAPI, CRDs with schema defaults, validation and CEL rules, namespaced custom objects
with every verb, the `/status` subresource, resourceVersion conflicts, watches with bookmarks and 410,
finalizers, Secrets, Events, Leases, Namespaces and label selectors. See docs/watcher.md for what is
simulated and what is not.
"""

from __future__ import annotations

from kubesim.kubeconfig import kubeconfig, write_kubeconfig
from kubesim.server import KubeSim

__all__ = ["KubeSim", "kubeconfig", "write_kubeconfig"]
