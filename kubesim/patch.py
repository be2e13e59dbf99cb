"""The PATCH content types and how each is applied to the stored object.

- `application/merge-patch+json`: RFC 7386 (a `null` deletes, lists are replaced whole).
- `application/json-patch+json`: RFC 6902 through `jsonpatch`; a failed `test` or a bad path is 422, as
  the API server answers for a patch that cannot be applied.
- `application/strategic-merge-patch+json`: 415 for custom resources, exactly as the API server does
  (kubectl then says to use `--type=merge`); for built-in kinds it is applied as a merge patch, which is
  what it amounts to for the flat objects (Secrets, Leases, Events) the simulator serves.
- `application/apply-patch+yaml` (server-side apply) is not served: 415.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonpatch

from kubesim.errors import ApiError, bad_request

MERGE = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC = "application/strategic-merge-patch+json"
ACCEPTED = [JSON_PATCH, MERGE]


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386 JSON merge patch."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def apply_patch(*, content_type: str, body: bytes, current: dict[str, Any], custom: bool) -> dict[str, Any]:
    """The patched copy of `current`; raises ApiError for unsupported or unappliable patches."""
    media = content_type.split(";")[0].strip().lower()
    try:
        patch = json.loads(body or b"null")
    except json.JSONDecodeError as exc:
        raise bad_request(f"error decoding patch: {exc}") from exc
    if media == MERGE or (media == STRATEGIC and not custom):
        if not isinstance(patch, dict):
            raise bad_request("merge patch must be a JSON object")
        patched = merge_patch(current, patch)
        assert isinstance(patched, dict)
        return patched
    if media == JSON_PATCH:
        if not isinstance(patch, list):
            raise bad_request("json patch must be a JSON array of operations")
        try:
            patched = jsonpatch.apply_patch(copy.deepcopy(current), patch)
        except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as exc:
            raise ApiError(
                code=422,
                reason="Invalid",
                message=f"the server rejected our request due to an error in our request: {exc}",
            ) from exc
        if not isinstance(patched, dict):
            raise bad_request("json patch must leave an object")
        return patched
    raise ApiError(
        code=415,
        reason="UnsupportedMediaType",
        message=(
            "the body of the request was in an unknown format - accepted media types include: "
            + ", ".join(ACCEPTED)
        ),
    )
