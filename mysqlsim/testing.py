"""Test API: start a world as a subprocess and drive it (``running_world``, ``ControlClient``).

Why it exists: tests of the orchestrator need real MySQL endpoints.  The world runs in a separate process
(an asyncio MySQL server must not share an event loop with an asyncmy TLS client), started with
``mysqlsim serve``; this module waits for its endpoints.json and kills its process group on exit.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class ControlError(Exception):
    """The control API refused or failed an action (message from the server), or is unreachable."""

    def __init__(self, message: str, *, status: int = 0, code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


@dataclass(frozen=True)
class MemberEndpoint:
    name: str
    host: str
    port: int
    role: str
    server_uuid: str
    version: str

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


class ControlClient:
    """Synchronous client of the control API (fine to call from async tests: each call is short)."""

    def __init__(self, url: str, *, timeout: float = 600.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout

    def call(self, action: str, **params: Any) -> Any:
        req = urllib.request.Request(
            f"{self.url}/{action}",
            data=json.dumps(params).encode(),
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as e:
            try:
                body = json.loads(e.read())
            except ValueError:
                body = {"error": str(e)}
            raise ControlError(
                f"{action}: {body.get('error')}", status=e.code, code=body.get("code")
            ) from None
        except urllib.error.URLError as e:
            raise ControlError(f"{action}: control API unreachable at {self.url}: {e.reason}") from None

    def kill(self, host: str) -> Any:
        return self.call("kill", host=host)

    def start(self, host: str) -> Any:
        return self.call("start", host=host)

    def restart(self, host: str) -> Any:
        return self.call("restart", host=host)

    def partition(self, hosts_a: list[str], hosts_b: list[str]) -> Any:
        return self.call("partition", hosts_a=list(hosts_a), hosts_b=list(hosts_b))

    def partition_site(self, site: str) -> Any:
        return self.call("partition_site", site=site)

    def heal(self) -> Any:
        return self.call("heal")

    def slow_link(self, site_a: str, site_b: str, *, latency_ms: float, bandwidth_mbit: float) -> Any:
        return self.call(
            "slow_link", site_a=site_a, site_b=site_b, latency_ms=latency_ms, bandwidth_mbit=bandwidth_mbit
        )

    def set_apply_lag(self, host: str, seconds: float) -> Any:
        return self.call("set_apply_lag", host=host, seconds=seconds)

    def stop_source(self, host: str) -> Any:
        return self.call("stop_source", host=host)

    def purge_binary_logs(self, host: str) -> Any:
        return self.call("purge_binary_logs", host=host)

    def inject_errant(self, host: str) -> str:
        return str(self.call("inject_errant", host=host)["gtid"])

    def write_load(self, host: str, *, count: int, table: str = "app.load") -> Any:
        return self.call("write_load", host=host, count=count, table=table)

    def instance_state(self, host: str) -> Any:
        return self.call("instance_state", host=host)

    def clone_count(self, host: str) -> int:
        return int(self.call("clone_count", host=host)["clone_count"])

    def sql(self, host: str, sql: str) -> Any:
        """Run one statement as root through an internal session; returns [{columns, rows, affected_rows}]."""
        return self.call("sql", host=host, sql=sql)


@dataclass
class RunningWorld:
    state_dir: Path
    endpoints: dict[str, list[MemberEndpoint]]
    ca_path: Path
    ctl: ControlClient
    process: subprocess.Popen[bytes]
    raw_endpoints: dict[str, Any]

    def member(self, site: str, index: int) -> MemberEndpoint:
        return self.endpoints[site][index]

    def refresh(self) -> None:
        """Re-read roles from the running world."""
        data = _get_json(self.ctl.url + "/endpoints")
        self.endpoints = _members(data)


def _members(data: dict[str, Any]) -> dict[str, list[MemberEndpoint]]:
    return {
        site: [
            MemberEndpoint(m["name"], m["host"], int(m["port"]), m["role"], m["server_uuid"], m["version"])
            for m in members
        ]
        for site, members in data["sites"].items()
    }


def _get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.loads(resp.read())


def _free_block() -> str:
    return f"127.{random.randint(2, 254)}.{random.randint(0, 255)}.0"


@contextlib.contextmanager
def running_world(
    topology: dict[str, Any] | str | Path,
    *,
    state_dir: Path | str | None = None,
    startup_timeout: float = 120.0,
) -> Iterator[RunningWorld]:
    """Start ``mysqlsim serve`` in its own process group; yield when endpoints.json is written; stop it
    (SIGTERM, then SIGKILL) on exit.  Without ``state_dir`` a temporary directory is used and removed."""
    if state_dir is None:
        with (
            tempfile.TemporaryDirectory(prefix="mysqlsim-") as d,
            _running_world(topology, Path(d), startup_timeout) as w,
        ):
            yield w
        return
    with _running_world(topology, Path(state_dir), startup_timeout) as w:
        yield w


@contextlib.contextmanager
def _running_world(
    topology: dict[str, Any] | str | Path, sd: Path, startup_timeout: float
) -> Iterator[RunningWorld]:
    sd.mkdir(parents=True, exist_ok=True)
    if isinstance(topology, str | Path):
        topo = yaml.safe_load(Path(topology).read_text())
    else:
        topo = dict(topology)
    random_block = not topo.get("address_block")
    attempts = 3 if random_block else 1
    last_err = ""
    for _ in range(attempts):
        if random_block:
            topo["address_block"] = _free_block()
        topo_path = sd / "topology.yaml"
        topo_path.write_text(yaml.safe_dump(topo, sort_keys=False))
        ep_path = sd / "endpoints.json"
        with contextlib.suppress(FileNotFoundError):
            ep_path.unlink()
        log = open(sd / "mysqlsim.log", "wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "mysqlsim", "serve", str(topo_path), "--state-dir", str(sd)],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + startup_timeout
            while not ep_path.exists():
                if proc.poll() is not None:
                    break
                if time.monotonic() > deadline:
                    raise TimeoutError(
                        f"mysqlsim did not start within {startup_timeout}s (see {sd}/mysqlsim.log)"
                    )
                time.sleep(0.05)
            if not ep_path.exists():
                last_err = (sd / "mysqlsim.log").read_text(errors="replace")[-2000:]
                continue
            data = json.loads(ep_path.read_text())
            world = RunningWorld(
                state_dir=sd,
                endpoints=_members(data),
                ca_path=sd / "ca.pem",
                ctl=ControlClient(data["control"]),
                process=proc,
                raw_endpoints=data,
            )
            yield world
            return
        finally:
            _stop(proc)
            log.close()
    raise RuntimeError(f"mysqlsim serve failed to start:\n{last_err}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
