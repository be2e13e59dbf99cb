"""`csctl codec-server`: the Temporal codec server protocol, so the Web UI can show encrypted payloads.

The Web UI (and `temporal` CLI with --codec-endpoint) POSTs ``{"payloads": [...]}`` (the JSON form of
temporal.api.common.v1.Payloads) to ``/decode`` or ``/encode`` and gets the same shape back. CORS allows
the UI's origin. Authorisation: with ``CLUSTERSET_CODEC_SERVER_TOKEN`` set, a request must carry
``Authorization: Bearer <token>`` (the UI forwards the user's access token when configured to), so only
authorised users see decrypted payloads.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable, Sequence

from aiohttp import web
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads

from worker.codec import EncryptionCodec

ENV_TOKEN = "CLUSTERSET_CODEC_SERVER_TOKEN"


def build_app(
    *, codec: EncryptionCodec, cors_origins: Sequence[str], token: str | None = None
) -> web.Application:
    """The aiohttp application serving /encode and /decode."""

    def cors_headers(request: web.Request) -> dict[str, str]:
        origin = request.headers.get("Origin", "")
        if origin not in cors_origins:
            return {}
        return {
            "Access-Control-Allow-Origin": origin,
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type, X-Namespace, Authorization",
            "Access-Control-Allow-Credentials": "true",
        }

    async def options(request: web.Request) -> web.Response:
        return web.Response(headers=cors_headers(request))

    def handler(
        fn: Callable[[Sequence[Payload]], Awaitable[list[Payload]]],
    ) -> Callable[..., Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            headers = cors_headers(request)
            if token is not None:
                given = request.headers.get("Authorization", "")
                if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
                    return web.json_response({"error": "unauthorised"}, status=401, headers=headers)
            try:
                payloads = json_format.Parse(await request.text(), Payloads())
                result = Payloads(payloads=await fn(list(payloads.payloads)))
            except Exception as exc:  # malformed input or a wrong key: say which, never echo payloads
                return web.json_response({"error": type(exc).__name__}, status=400, headers=headers)
            return web.Response(
                text=json_format.MessageToJson(result), content_type="application/json", headers=headers
            )

        return handle

    app = web.Application()
    app.router.add_route("OPTIONS", "/{tail:.*}", options)
    app.router.add_post("/encode", handler(codec.encode))
    app.router.add_post("/decode", handler(codec.decode))
    return app
