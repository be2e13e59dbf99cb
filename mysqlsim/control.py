"""The control API of a running world: HTTP+JSON on 127.0.0.1 (used by tests and ``mysqlsim ctl``).

Why it exists: tests and the demo need to inject faults (kill, partitions, slow links, errant
transactions, purged binlogs) and observe instance state without going through SQL.  Every action is
``POST /<action>`` with a JSON body; the answer is JSON, or ``{"error": ...}`` with status 400/404/500.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from mysqlsim import errors
from mysqlsim.registry import CONTROL_ACTIONS, Result
from mysqlsim.world import World

log = logging.getLogger("mysqlsim.control")

Handler = Callable[[World, dict[str, Any]], Awaitable[Any]]


def _req(p: dict[str, Any], name: str, typ: type = str) -> Any:
    if name not in p:
        raise ValueError(f"{name}: required")
    v = p[name]
    if typ is list:
        if not isinstance(v, list):
            raise ValueError(f"{name}: expected a list")
        return v
    if typ is float:
        if not isinstance(v, int | float):
            raise ValueError(f"{name}: expected a number")
        return float(v)
    if typ is int:
        if not isinstance(v, int):
            raise ValueError(f"{name}: expected an integer")
        return v
    if not isinstance(v, str):
        raise ValueError(f"{name}: expected a string")
    return v


async def _sql(world: World, p: dict[str, Any]) -> Any:
    """Run SQL as root on an instance through an internal session (diagnostics, demos)."""
    inst = world.instance(_req(p, "host"))
    s = world.internal_session(inst)
    out: list[dict[str, Any]] = []
    stmts = p.get("statements") or [_req(p, "sql")]
    for stmt in stmts:
        r: Result = await s.execute(str(stmt))
        out.append(
            {
                "columns": r.columns,
                "rows": [[_j(v) for v in row] for row in r.rows],
                "affected_rows": r.affected_rows,
            }
        )
    return out


def _j(v: Any) -> Any:
    if isinstance(v, bytes):
        return v.decode(errors="replace")
    if isinstance(v, int | float | str) or v is None:
        return v
    return str(v)


async def _clone_count(world: World, p: dict[str, Any]) -> Any:
    st = await world.instance_state(_req(p, "host"))
    return {"clone_count": int(st.get("clone_count", 0))}


ACTIONS: dict[str, Handler] = {
    "kill": lambda w, p: w.kill(_req(p, "host")),
    "start": lambda w, p: w.start_instance(_req(p, "host")),
    "restart": lambda w, p: w.restart(_req(p, "host")),
    "partition": lambda w, p: _sync(w.partition(_req(p, "hosts_a", list), _req(p, "hosts_b", list))),
    "partition_site": lambda w, p: _sync(w.partition_site(_req(p, "site"))),
    "heal": lambda w, p: _sync(w.heal()),
    "slow_link": lambda w, p: _sync(
        w.slow_link(
            _req(p, "site_a"),
            _req(p, "site_b"),
            latency_ms=_req(p, "latency_ms", float),
            bandwidth_mbit=_req(p, "bandwidth_mbit", float),
        )
    ),
    "set_apply_lag": lambda w, p: _sync(w.set_apply_lag(_req(p, "host"), _req(p, "seconds", float))),
    "stop_source": lambda w, p: _sync(w.stop_source(_req(p, "host"))),
    "purge_binary_logs": lambda w, p: _sync(w.purge_binary_logs(_req(p, "host"))),
    "inject_errant": lambda w, p: _gtid(w.inject_errant(_req(p, "host"))),
    "write_load": lambda w, p: w.write_load(
        _req(p, "host"), count=_req(p, "count", int), table=str(p.get("table", "app.load"))
    ),
    "instance_state": lambda w, p: w.instance_state(_req(p, "host")),
    "clone_count": _clone_count,
    "sql": _sql,
}


async def _sync(v: Any) -> Any:
    return v


async def _gtid(aw: Awaitable[str]) -> Any:
    return {"gtid": await aw}


def make_app(world: World, *, on_shutdown: Callable[[], None] | None = None) -> web.Application:
    app = web.Application()

    async def endpoints(request: web.Request) -> web.Response:
        return web.json_response(world.endpoints(str(request.url.origin())))

    async def action(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        handler = ACTIONS.get(name)
        if handler is None:
            extra = CONTROL_ACTIONS.get(name)
            if extra is None:
                return web.json_response({"error": f"unknown action {name!r}"}, status=404)
            handler = extra
        try:
            body = await request.json() if request.can_read_body else {}
        except ValueError:
            return web.json_response({"error": "body: expected JSON"}, status=400)
        if not isinstance(body, dict):
            return web.json_response({"error": "body: expected a JSON object"}, status=400)
        try:
            result = await handler(world, body)
        except KeyError as e:
            return web.json_response({"error": f"unknown host or site {e.args[0]!r}"}, status=404)
        except ValueError as e:
            return web.json_response({"error": str(e)}, status=400)
        except errors.MySQLError as e:
            return web.json_response({"error": e.message, "code": e.code, "sqlstate": e.sqlstate}, status=409)
        except Exception as e:
            log.exception("control action %s failed", name)
            return web.json_response({"error": f"{type(e).__name__}: {e}"}, status=500)
        return web.json_response(result)

    async def shutdown(request: web.Request) -> web.Response:
        if on_shutdown is not None:
            on_shutdown()
        return web.json_response({"stopping": True})

    app.router.add_get("/endpoints", endpoints)
    app.router.add_get("/health", lambda r: _ok())
    app.router.add_post("/shutdown", shutdown)
    app.router.add_post("/{name}", action)
    return app


async def _ok() -> web.Response:
    return web.json_response({"ok": True})
