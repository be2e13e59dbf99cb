"""Optional AES-GCM payload codec: defence in depth on top of "no secret in any payload".

Payloads never hold passwords (only Secret references cross Temporal), but histories hold hostnames,
GTID sets and error texts that some installations prefer encrypted at rest. With a key configured, every
payload (inputs, results, heartbeats, memo, and — through DefaultFailureConverterWithEncodedAttributes —
failure messages and stack traces) is encrypted with AES-256-GCM. Each payload names the key id it was
encrypted with, so keys can be rotated: decode accepts every configured key, encode uses the first.

Key material: ``CLUSTERSET_CODEC_KEY`` (base64 of 32 bytes; several separated by commas, newest first) or
``CLUSTERSET_CODEC_KEY_FILE`` (a file with the same content). The Web UI shows encrypted payloads through
`csctl codec-server` (worker/codec_server.py).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import PayloadCodec

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
ENV_KEY = "CLUSTERSET_CODEC_KEY"
ENV_KEY_FILE = "CLUSTERSET_CODEC_KEY_FILE"


class CodecKeyError(ValueError):
    """The codec key configuration is unusable (the message says which variable and why)."""


def key_id(key: bytes) -> str:
    """A non-secret identifier of `key` (first 8 bytes of its SHA-256, hex)."""
    return hashlib.sha256(key).hexdigest()[:16]


def parse_keys(text: str, *, source: str) -> list[bytes]:
    keys: list[bytes] = []
    for part in text.replace("\n", ",").split(","):
        part = part.strip()
        if not part:
            continue
        try:
            key = base64.b64decode(part, validate=True)
        except (binascii.Error, ValueError):
            raise CodecKeyError(f"{source}: a key is not valid base64") from None
        if len(key) != 32:
            raise CodecKeyError(f"{source}: a key must be 32 bytes (AES-256), got {len(key)}")
        keys.append(key)
    if not keys:
        raise CodecKeyError(f"{source}: no key found")
    return keys


def keys_from_environment(env: Mapping[str, str] | None = None) -> list[bytes] | None:
    """The configured keys (newest first), or None when no codec is configured."""
    env = os.environ if env is None else env
    if env.get(ENV_KEY):
        return parse_keys(env[ENV_KEY], source=ENV_KEY)
    if env.get(ENV_KEY_FILE):
        path = Path(env[ENV_KEY_FILE])
        try:
            text = path.read_text()
        except OSError as exc:
            raise CodecKeyError(f"{ENV_KEY_FILE}: cannot read {path}: {exc.strerror}") from None
        return parse_keys(text, source=f"{ENV_KEY_FILE} ({path})")
    return None


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM over each serialized payload; a random 96-bit nonce is prepended to the ciphertext."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise CodecKeyError("EncryptionCodec needs at least one key")
        self._encrypt_id = key_id(keys[0])
        self._ciphers = {key_id(k): AESGCM(k) for k in keys}

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        cipher = self._ciphers[self._encrypt_id]
        out: list[Payload] = []
        for p in payloads:
            nonce = os.urandom(12)
            data = nonce + cipher.encrypt(nonce, p.SerializeToString(), None)
            out.append(Payload(metadata={"encoding": ENCODING, KEY_ID: self._encrypt_id.encode()}, data=data))
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out: list[Payload] = []
        for p in payloads:
            if p.metadata.get("encoding") != ENCODING:
                out.append(p)
                continue
            kid = p.metadata.get(KEY_ID, b"").decode()
            cipher = self._ciphers.get(kid)
            if cipher is None:
                raise CodecKeyError(f"payload encrypted with unknown key id {kid!r}")
            plain = cipher.decrypt(p.data[:12], p.data[12:], None)
            out.append(Payload.FromString(plain))
        return out
