"""The kubeconfig that points kubectl and the kubernetes client at a running simulator.

Plain HTTP on loopback with a dummy bearer token: the simulator does no authentication, but clients
insist on some credentials being configured.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

CONTEXT = "kubesim"


def kubeconfig(*, server: str, namespace: str = "default") -> dict[str, Any]:
    """A kubeconfig document with one cluster, user and (current) context named `kubesim`."""
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT, "cluster": {"server": server}}],
        "users": [{"name": CONTEXT, "user": {"token": "kubesim"}}],
        "contexts": [
            {"name": CONTEXT, "context": {"cluster": CONTEXT, "user": CONTEXT, "namespace": namespace}}
        ],
        "current-context": CONTEXT,
        "preferences": {},
    }


def write_kubeconfig(path: Path, *, server: str, namespace: str = "default") -> Path:
    """Write the kubeconfig to `path` (mode 0600, as kubectl writes its own) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(kubeconfig(server=server, namespace=namespace), sort_keys=False))
    path.chmod(0o600)
    return path
