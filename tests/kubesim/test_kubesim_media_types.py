"""kubesim speaks JSON and YAML only, and says so the way the API server does (415), not with a 400."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from kubesim.testing import running_kubesim


def test_protobuf_body_is_415_naming_the_media_type(tmp_path: Path) -> None:
    with running_kubesim(tmp_path) as kube:
        request = urllib.request.Request(
            f"{kube.server}/api/v1/namespaces",
            data=b"k8s\x00\n\x0f\n\x02v1\x12\tNamespace",
            method="POST",
            headers={"Content-Type": "application/vnd.kubernetes.protobuf"},
        )
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        status = json.loads(refused.value.read())
    assert refused.value.code == 415
    assert status["reason"] == "UnsupportedMediaType"
    assert "application/vnd.kubernetes.protobuf" in status["message"]
