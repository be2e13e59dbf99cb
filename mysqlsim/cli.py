"""``mysqlsim`` command line: ``serve`` runs a world in the foreground; ``ctl`` drives a running one.

Why it exists: the demo and humans start worlds from a topology file; tests use the same command through
:func:`mysqlsim.testing.running_world`.  Mistakes give one readable line and a hint, never a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import signal
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import click


@click.group()
def main() -> None:
    """MySQL 8 site simulator (mysqlsim)."""


@main.command()
@click.argument("topology", type=click.Path(dir_okay=False))
@click.option(
    "--state-dir",
    required=True,
    type=click.Path(file_okay=False),
    help="where endpoints.json, ca.pem and certificates go",
)
@click.option("--control-port", default=0, show_default=True, help="control API port on 127.0.0.1 (0: any)")
@click.option("--log-level", default="WARNING", show_default=True)
def serve(topology: str, state_dir: str, control_port: int, log_level: str) -> None:
    """Run the world of TOPOLOGY (YAML) until SIGTERM/SIGINT."""
    logging.basicConfig(
        level=getattr(logging, log_level.upper(), logging.WARNING),
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    import mysqlsim
    from mysqlsim.world import Topology, TopologyError

    mysqlsim.load_extensions()  # site modes (innodb_cluster) are registered by mysqlsim.replication
    try:
        topo = Topology.load(topology)
    except TopologyError as e:
        click.echo(f"mysqlsim: {e}", err=True)
        click.echo("hint: see deploy/examples/topology.yaml and docs/mysqlsim.md", err=True)
        sys.exit(2)
    try:
        asyncio.run(_serve(topo, Path(state_dir), control_port))
    except OSError as e:
        click.echo(f"mysqlsim: cannot listen: {e.strerror or e}", err=True)
        click.echo("hint: another world may use the same address_block; pick another one", err=True)
        sys.exit(1)


async def _serve(topo: Any, state_dir: Path, control_port: int) -> None:
    from aiohttp import web

    import mysqlsim
    from mysqlsim.control import make_app
    from mysqlsim.world import World

    mysqlsim.load_extensions()
    _prepare_state_dir(state_dir)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    world = World(topo, state_dir)
    runner: web.AppRunner | None = None
    try:
        await world.start()
        app = make_app(world, on_shutdown=stop.set)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", control_port)
        await site.start()
        port = int(runner.addresses[0][1]) if runner.addresses else control_port
        world.write_endpoints(f"http://127.0.0.1:{port}")
        await stop.wait()
    finally:
        if runner is not None:
            await runner.cleanup()
        await world.stop()
        with contextlib.suppress(FileNotFoundError):
            (state_dir / "endpoints.json").unlink()  # `mysqlsim ctl` then says there is no running world


def _prepare_state_dir(state_dir: Path) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileNotFoundError):
        (state_dir / "endpoints.json").unlink()


def _endpoints(state_dir: str) -> dict[str, Any]:
    p = Path(state_dir) / "endpoints.json"
    try:
        data: dict[str, Any] = json.loads(p.read_text())
    except FileNotFoundError:
        click.echo(f"mysqlsim: no running world in {state_dir} ({p} not found)", err=True)
        click.echo("hint: start one with `mysqlsim serve TOPOLOGY --state-dir DIR`", err=True)
        sys.exit(2)
    return data


@main.command()
@click.option("--state-dir", required=True, type=click.Path(file_okay=False))
@click.argument("action")
@click.argument("params", nargs=-1)
def ctl(state_dir: str, action: str, params: tuple[str, ...]) -> None:
    """Call a control action: `mysqlsim ctl --state-dir D kill host=127.0.1.1`.

    PARAMS are key=value (JSON values accepted: count=10, hosts_a='["127.0.1.1"]')."""
    url = _endpoints(state_dir)["control"]
    body: dict[str, Any] = {}
    for kv in params:
        if "=" not in kv:
            click.echo(f"mysqlsim: parameter {kv!r}: expected key=value", err=True)
            sys.exit(2)
        k, v = kv.split("=", 1)
        try:
            body[k] = json.loads(v)
        except ValueError:
            body[k] = v
    req = urllib.request.Request(
        f"{url}/{action}",
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(req, timeout=600) as resp:
            click.echo(json.dumps(json.loads(resp.read()), indent=2))
    except urllib.error.HTTPError as e:
        try:
            msg = json.loads(e.read()).get("error", str(e))
        except ValueError:
            msg = str(e)
        click.echo(f"mysqlsim: {action}: {msg}", err=True)
        sys.exit(1)
    except urllib.error.URLError as e:
        click.echo(f"mysqlsim: cannot reach the control API at {url}: {e.reason}", err=True)
        sys.exit(1)
