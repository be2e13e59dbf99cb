"""KubernetesSecretReader against kubesim: reads the key of the Secret named by spec.credentialsSecret,
and names the Secret (never a value) when it or its key is missing."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from activities import errors
from activities.credentials import KubernetesSecretReader
from api.models import SecretKeySelector


async def test_reads_the_key_and_reports_missing_ones(tmp_path: Path) -> None:
    import kubernetes

    from kubesim.testing import running_kubesim

    with running_kubesim(tmp_path) as kube:
        api = kube.new_api_client()
        core = kubernetes.client.CoreV1Api(api)
        body = {
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": {"name": "cs-secret", "namespace": "default"},
            "data": {"clusterset": base64.b64encode(b"s3cr3t").decode()},
        }
        core.create_namespaced_secret("default", body)
        reader = KubernetesSecretReader(api_client=api)
        assert (
            await reader.password(namespace="default", selector=SecretKeySelector(name="cs-secret"))
            == "s3cr3t"
        )
        with pytest.raises(errors.InvalidRequest) as missing_key:
            await reader.password(
                namespace="default", selector=SecretKeySelector(name="cs-secret", key="other")
            )
        assert "other" in str(missing_key.value) and "s3cr3t" not in str(missing_key.value)
        with pytest.raises(errors.InvalidRequest, match="does not exist"):
            await reader.password(namespace="default", selector=SecretKeySelector(name="nope"))
