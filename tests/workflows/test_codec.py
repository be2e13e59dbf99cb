"""The optional payload codec and the codec server the Web UI calls."""

from __future__ import annotations

import base64
import os

import pytest
from aiohttp.test_utils import TestClient, TestServer
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import DefaultFailureConverterWithEncodedAttributes

from worker.codec import CodecKeyError, EncryptionCodec, keys_from_environment
from worker.codec_server import build_app
from worker.converter import data_converter


def key() -> bytes:
    return os.urandom(32)


async def test_round_trip_and_rotation() -> None:
    old, new = key(), key()
    plain = [Payload(metadata={"encoding": b"json/plain"}, data=b'{"secret_ref":"cs-secret"}')]
    encoded = await EncryptionCodec([old]).encode(plain)
    assert encoded[0].metadata["encoding"] == b"binary/encrypted" and b"cs-secret" not in encoded[0].data
    # after rotation (new key first) old payloads still decode; new ones use the new key
    rotated = EncryptionCodec([new, old])
    assert await rotated.decode(encoded) == plain
    assert (await rotated.encode(plain))[0].metadata["encryption-key-id"] != encoded[0].metadata[
        "encryption-key-id"
    ]
    with pytest.raises(CodecKeyError):
        await EncryptionCodec([new]).decode(encoded)


def test_key_configuration_errors_name_the_variable(tmp_path: os.PathLike[str]) -> None:
    assert keys_from_environment({}) is None
    with pytest.raises(CodecKeyError, match="CLUSTERSET_CODEC_KEY"):
        keys_from_environment({"CLUSTERSET_CODEC_KEY": base64.b64encode(b"short").decode()})
    with pytest.raises(CodecKeyError, match="CLUSTERSET_CODEC_KEY_FILE"):
        keys_from_environment({"CLUSTERSET_CODEC_KEY_FILE": "/nonexistent/key"})
    k = base64.b64encode(key()).decode()
    assert len(keys_from_environment({"CLUSTERSET_CODEC_KEY": f"{k},{k}"}) or []) == 2


def test_converter_encodes_failure_attributes_with_a_codec() -> None:
    converter = data_converter(codec=EncryptionCodec([key()]))
    assert converter.failure_converter_class is DefaultFailureConverterWithEncodedAttributes
    assert data_converter().payload_codec is None


async def test_codec_server_decodes_for_authorised_ui() -> None:
    codec = EncryptionCodec([key()])
    encoded = await codec.encode([Payload(metadata={"encoding": b"json/plain"}, data=b'"hello"')])
    body = json_format.MessageToJson(Payloads(payloads=encoded))
    origin = "http://localhost:8233"
    app = build_app(codec=codec, cors_origins=[origin], token="t0ken")
    async with TestClient(TestServer(app)) as client:
        denied = await client.post("/decode", data=body, headers={"Origin": origin})
        assert denied.status == 401
        ok = await client.post(
            "/decode", data=body, headers={"Origin": origin, "Authorization": "Bearer t0ken"}
        )
        assert ok.status == 200 and ok.headers["Access-Control-Allow-Origin"] == origin
        decoded = json_format.Parse(await ok.text(), Payloads())
        assert decoded.payloads[0].data == b'"hello"'
        preflight = await client.options("/decode", headers={"Origin": origin})
        assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
        bad = await client.post("/encode", data="not json", headers={"Authorization": "Bearer t0ken"})
        assert bad.status == 400
