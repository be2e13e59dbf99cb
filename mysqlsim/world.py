"""The world: sites of instances on loopback addresses, the links between them, and faults.

Why it exists: one object owns every instance of a topology, their listeners, the network model
(latency/bandwidth per site pair, partitions) and the lifecycle faults the control API exposes.

Address rule: with ``address_block: 127.B.C.0`` member k (0-based) of site i (0-based, file order) listens on
``127.B.C.(16*i + k + 1)``, so 15 members per site and 15 sites per block; e.g. dc1 = .1 .2 .3,
dc2 = .17 .18 .19, dc3 = .33.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from mysqlsim import errors
from mysqlsim.accounts import PERCONA_CLUSTERSET_GRANTS
from mysqlsim.instance import Instance
from mysqlsim.registry import TOPOLOGY_MODES, emit
from mysqlsim.server import InstanceServer
from mysqlsim.session import SimSession
from mysqlsim.tls import CertificateAuthority, server_context

log = logging.getLogger("mysqlsim.world")

DEFAULT_BANDWIDTH_MBIT = 10000.0


class TopologyError(ValueError):
    """A topology file that cannot be used; the message names the field."""


@dataclass
class SiteSpec:
    name: str
    members: int
    version: str = "8.0.36"
    mode: str = "empty"
    cluster_name: str = ""
    dataset_bytes: int = 10_000_000
    seed_sql: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class Link:
    latency_ms: float = 0.0
    bandwidth_mbit: float = DEFAULT_BANDWIDTH_MBIT


@dataclass
class Topology:
    address_block: str
    port: int
    accounts: dict[str, dict[str, Any]]
    sites: list[SiteSpec]
    links: dict[frozenset[str], Link]
    default_bandwidth_mbit: float
    time_scale: float
    raw: dict[str, Any]

    @classmethod
    def load(cls, source: str | Path | dict[str, Any]) -> Topology:
        if isinstance(source, dict):
            raw = dict(source)
        else:
            try:
                raw = yaml.safe_load(Path(source).read_text())
            except OSError as e:
                raise TopologyError(f"cannot read topology file {source}: {e.strerror}") from None
            except yaml.YAMLError as e:
                raise TopologyError(f"topology file {source} is not valid YAML: {e}") from None
        if not isinstance(raw, dict):
            raise TopologyError("topology: expected a mapping at the top level")
        block = str(raw.get("address_block") or "127.0.1.0")
        try:
            ip = ipaddress.ip_address(block)
        except ValueError:
            raise TopologyError(f"address_block: {block!r} is not an IPv4 address") from None
        if not isinstance(ip, ipaddress.IPv4Address) or not block.startswith("127."):
            raise TopologyError(f"address_block: {block!r} must be in 127.0.0.0/8")
        port = raw.get("port", 3306)
        if not isinstance(port, int) or not 1 <= port <= 65535:
            raise TopologyError(f"port: {port!r} is not a TCP port")
        accounts = raw.get("accounts") or {"root": {"password": "rootpw"}}
        if not isinstance(accounts, dict):
            raise TopologyError("accounts: expected a mapping user -> {password, grants}")
        for u, a in accounts.items():
            if not isinstance(a, dict) or "password" not in a:
                raise TopologyError(f"accounts.{u}.password: required")
            g = a.get("grants", "all" if u == "root" else "none")
            if g not in ("all", "percona", "none") and not isinstance(g, list):
                raise TopologyError(
                    f"accounts.{u}.grants: expected all, percona, none or a list of GRANT texts"
                )
        sites_raw = raw.get("sites")
        if not isinstance(sites_raw, list) or not sites_raw:
            raise TopologyError("sites: expected a non-empty list")
        sites: list[SiteSpec] = []
        seen: set[str] = set()
        for i, s in enumerate(sites_raw):
            if not isinstance(s, dict):
                raise TopologyError(f"sites[{i}]: expected a mapping")
            name = s.get("name")
            if not isinstance(name, str) or not name:
                raise TopologyError(f"sites[{i}].name: required")
            if name in seen:
                raise TopologyError(f"sites[{i}].name: duplicate site {name!r}")
            seen.add(name)
            members = s.get("members", 1)
            if not isinstance(members, int) or not 1 <= members <= 15:
                raise TopologyError(f"sites[{i}].members: expected 1..15, got {members!r}")
            version = str(s.get("version", "8.0.36"))
            if not version.startswith(("8.0.", "8.4.")):
                raise TopologyError(f"sites[{i}].version: expected 8.0.x or 8.4.x, got {version!r}")
            mode = str(s.get("mode", "empty"))
            if mode != "empty" and mode not in TOPOLOGY_MODES:
                raise TopologyError(
                    f"sites[{i}].mode: unknown mode {mode!r} (known: {', '.join(['empty', *TOPOLOGY_MODES])})"
                )
            seed = s.get("seed_sql") or []
            if not isinstance(seed, list) or not all(isinstance(x, str) for x in seed):
                raise TopologyError(f"sites[{i}].seed_sql: expected a list of SQL strings")
            dataset = s.get("dataset_bytes", 10_000_000)
            if not isinstance(dataset, int) or dataset < 0:
                raise TopologyError(f"sites[{i}].dataset_bytes: expected a non-negative integer")
            known = {"name", "members", "version", "mode", "cluster_name", "dataset_bytes", "seed_sql"}
            sites.append(
                SiteSpec(
                    name=name,
                    members=members,
                    version=version,
                    mode=mode,
                    cluster_name=str(s.get("cluster_name") or name),
                    dataset_bytes=dataset,
                    seed_sql=list(seed),
                    extra={k: v for k, v in s.items() if k not in known},
                )
            )
        if len(sites) > 15:
            raise TopologyError("sites: at most 15 sites per address block")
        default_bw = float(raw.get("default_bandwidth_mbit", DEFAULT_BANDWIDTH_MBIT))
        links: dict[frozenset[str], Link] = {}
        for j, ln in enumerate(raw.get("links") or []):
            pair = ln.get("sites") if isinstance(ln, dict) else None
            if not isinstance(pair, list) or len(pair) != 2 or any(p not in seen for p in pair):
                raise TopologyError(f"links[{j}].sites: expected two known site names")
            links[frozenset(pair)] = Link(
                float(ln.get("latency_ms", 0)), float(ln.get("bandwidth_mbit", default_bw))
            )
        ts = raw.get("time_scale", 1.0)
        if not isinstance(ts, int | float) or ts <= 0:
            raise TopologyError(f"time_scale: expected a positive number, got {ts!r}")
        return cls(block, port, accounts, sites, links, default_bw, float(ts), raw)

    def host_of(self, site_index: int, member: int) -> str:
        base = ipaddress.IPv4Address(self.address_block)
        return str(base + 16 * site_index + member + 1)


@dataclass
class Site:
    spec: SiteSpec
    index: int
    members: list[Instance]
    #: set by a topology mode hook that loaded seed_sql itself (else the core loads it on member 0)
    seeded: bool = False

    @property
    def name(self) -> str:
        return self.spec.name


class World:
    def __init__(self, topology: Topology, state_dir: Path) -> None:
        self.topology = topology
        self.state_dir = state_dir
        self.time_scale = topology.time_scale
        self.sites: dict[str, Site] = {}
        #: instances by host (also reachable by "host:port" through :meth:`instance`)
        self.instances: dict[str, Instance] = {}
        self.servers: dict[str, InstanceServer] = {}
        self.cuts: set[frozenset[str]] = set()
        self.links = dict(topology.links)
        self.ca = CertificateAuthority(state_dir)
        self.started_at = time.time()
        self._lock = asyncio.Lock()

    # --- lookups ----------------------------------------------------------------------------------
    def instance(self, ref: str) -> Instance:
        """By host, "host:port" or member name (dc1-0); KeyError otherwise."""
        if ref in self.instances:
            return self.instances[ref]
        host = ref.split(":", 1)[0]
        if host in self.instances:
            return self.instances[host]
        for inst in self.instances.values():
            if inst.name == ref:
                return inst
        raise KeyError(ref)

    def site_of(self, host: str) -> Site | None:
        inst = self.instances.get(host)
        return self.sites.get(inst.site) if inst else None

    def now(self) -> float:
        return time.time()

    def scaled(self, simulated_seconds: float) -> float:
        """Real seconds that ``simulated_seconds`` take under time_scale."""
        return simulated_seconds / self.time_scale

    # --- network model ----------------------------------------------------------------------------
    def reachable(self, host_a: str, host_b: str) -> bool:
        """Whether traffic can flow between two hosts (client or replication); partitions are symmetric."""
        if host_a == host_b or not self.cuts:
            return True
        return frozenset((host_a, host_b)) not in self.cuts

    def _link(self, host_a: str, host_b: str) -> Link:
        sa = self.instances[host_a].site if host_a in self.instances else None
        sb = self.instances[host_b].site if host_b in self.instances else None
        if sa is None or sb is None or sa == sb:
            return Link(0.0, self.topology.default_bandwidth_mbit)
        return self.links.get(frozenset((sa, sb)), Link(0.0, self.topology.default_bandwidth_mbit))

    def link_latency_ms(self, host_a: str, host_b: str) -> float:
        return self._link(host_a, host_b).latency_ms

    def link_bandwidth_mbit(self, host_a: str, host_b: str) -> float:
        return self._link(host_a, host_b).bandwidth_mbit

    def link(self, host_a: str, host_b: str) -> tuple[float, float]:
        ln = self._link(host_a, host_b)
        return ln.latency_ms, ln.bandwidth_mbit

    # --- startup ----------------------------------------------------------------------------------
    def _data_dir(self) -> Path:
        d = self.state_dir / "data"
        d.mkdir(parents=True, exist_ok=True)
        for f in d.glob("*.sqlite*"):
            if not getattr(self, "_data_cleared", False):
                f.unlink()
        self._data_cleared = True
        return d

    def build(self) -> None:
        topo = self.topology
        sid = 0
        for i, spec in enumerate(topo.sites):
            members: list[Instance] = []
            for k in range(spec.members):
                sid += 1
                host = topo.host_of(i, k)
                inst = Instance(
                    self,
                    name=f"{spec.name}-{k}",
                    site=spec.name,
                    index=k,
                    host=host,
                    port=topo.port,
                    version=spec.version,
                    server_id=1000 + sid * 10 + 1,
                    dataset_bytes=spec.dataset_bytes,
                    data_path=str(self._data_dir() / f"{spec.name}-{k}.sqlite"),
                )
                cert, key = self.ca.issue(inst.name, host)
                inst.tls_cert_path, inst.tls_key_path = str(cert), str(key)
                inst.ca_path = str(self.ca.ca_path)
                inst.ssl_context = server_context(cert, key)
                inst.variables.config.update(
                    {"ssl_ca": inst.ca_path, "ssl_cert": str(cert), "ssl_key": str(key)}
                )
                inst.variables.load()
                self.instances[host] = inst
                members.append(inst)
            self.sites[spec.name] = Site(spec, i, members)

    def _create_accounts(self, inst: Instance) -> None:
        for user, a in self.topology.accounts.items():
            acc = inst.accounts.create(user, "%", str(a["password"]))
            grants = a.get("grants", "all" if user == "root" else "none")
            if grants == "all":
                inst.accounts.grant(acc, ["ALL"], "*", "*", grant_option=True)
            elif grants == "percona":
                for privs, schema, table in PERCONA_CLUSTERSET_GRANTS:
                    inst.accounts.grant(acc, list(privs), schema, table, grant_option=True)
        # the server's own accounts
        for user in ("mysql.sys", "mysql.session", "mysql.infoschema"):
            acc = inst.accounts.create(user, "localhost", None)
            acc.locked = True
            if user == "mysql.session":
                inst.accounts.grant(
                    acc,
                    [
                        "SHUTDOWN",
                        "SUPER",
                        "SYSTEM_VARIABLES_ADMIN",
                        "BACKUP_ADMIN",
                        "CONNECTION_ADMIN",
                        "PERSIST_RO_VARIABLES_ADMIN",
                        "SESSION_VARIABLES_ADMIN",
                        "SYSTEM_USER",
                        "CLONE_ADMIN",
                    ],
                    "*",
                    "*",
                    grant_option=False,
                )

    async def start(self) -> None:
        self.build()
        for inst in self.instances.values():
            self._create_accounts(inst)
            await self._start_instance(inst)
        for site in self.sites.values():
            hook = TOPOLOGY_MODES.get(site.spec.mode)
            if hook is not None:
                await hook(self, site)
            if not site.seeded and site.spec.seed_sql:
                s = self.internal_session(site.members[0])
                for stmt in site.spec.seed_sql:
                    await s.execute(stmt)
                site.seeded = True
        await emit("world_started", self)

    async def _start_instance(self, inst: Instance) -> None:
        srv = InstanceServer(inst)
        await srv.start()
        self.servers[inst.host] = srv
        await inst.on_start()

    def internal_session(self, inst: Instance, *, user: str = "root") -> SimSession:
        """A privileged session that is not a client connection (control API, seeding)."""
        s = SimSession(inst, user=user, client_host="localhost", internal=True)
        s.account = inst.accounts.match(user, "localhost")
        return s

    # --- lifecycle faults -------------------------------------------------------------------------
    async def kill(self, host: str) -> dict[str, Any]:
        inst = self.instance(host)
        if not inst.running:
            return {"host": inst.host, "running": False}
        srv = self.servers.pop(inst.host, None)
        if srv is not None:
            await srv.stop()
        await inst.on_stop()
        return {"host": inst.host, "running": False}

    async def start_instance(self, host: str) -> dict[str, Any]:
        inst = self.instance(host)
        if inst.running:
            return {"host": inst.host, "running": True}
        # a started server serves replication again (stop_source models the running process refusing dumps)
        inst.faults.pop("stop_source", None)
        await self._start_instance(inst)
        return {"host": inst.host, "running": True}

    async def restart(self, host: str) -> dict[str, Any]:
        await self.kill(host)
        return await self.start_instance(host)

    async def restart_instance(self, inst: Instance) -> None:
        """Supervisor restart callable from a statement handler: it runs in its own task, so it completes
        even though the calling session (on the restarting instance) is killed."""
        task = asyncio.ensure_future(self.restart(inst.host))
        await asyncio.shield(task)

    def partition(self, hosts_a: list[str], hosts_b: list[str]) -> dict[str, Any]:
        a = [self._host(h) for h in hosts_a]
        b = [self._host(h) for h in hosts_b]
        for x in a:
            for y in b:
                if x != y:
                    self.cuts.add(frozenset((x, y)))
        self._drop_cut_sessions()
        return {"cuts": len(self.cuts)}

    def _host(self, h: str) -> str:
        h = h.split(":", 1)[0]
        if h in self.instances:
            return h
        with contextlib.suppress(KeyError):
            return self.instance(h).host
        return h

    def partition_site(self, site: str) -> dict[str, Any]:
        if site not in self.sites:
            raise KeyError(site)
        inside = [m.host for m in self.sites[site].members]
        outside = [h for h in self.instances if h not in inside]
        return self.partition(inside, outside)

    def heal(self) -> dict[str, Any]:
        self.cuts.clear()
        return {"cuts": 0}

    def _drop_cut_sessions(self) -> None:
        for inst in self.instances.values():
            for s in list(inst.sessions.values()):
                if not self.reachable(s.client_host, inst.host) and s.kill_hook is not None:
                    s.killed = True
                    s.kill_hook(True)

    def slow_link(
        self, site_a: str, site_b: str, *, latency_ms: float, bandwidth_mbit: float
    ) -> dict[str, Any]:
        for s in (site_a, site_b):
            if s not in self.sites:
                raise KeyError(s)
        self.links[frozenset((site_a, site_b))] = Link(float(latency_ms), float(bandwidth_mbit))
        return {"sites": [site_a, site_b], "latency_ms": latency_ms, "bandwidth_mbit": bandwidth_mbit}

    async def inject_errant(self, host: str) -> str:
        """Commit a transaction with sql_log_bin=1 bypassing super_read_only; returns its GTID."""
        inst = self.instance(host)
        inst.check_running()
        s = self.internal_session(inst)
        if not inst.engine.table_exists("errant", "t"):
            s.vars["sql_log_bin"] = False
            await s.execute("CREATE DATABASE IF NOT EXISTS errant")
            await s.execute("CREATE TABLE IF NOT EXISTS errant.t (id INT PRIMARY KEY, at VARCHAR(40))")
            s.vars["sql_log_bin"] = True
        gtid = f"{inst.server_uuid}:{inst.gtid_executed.last(inst.server_uuid) + 1}"
        n = inst.engine.conn.execute('SELECT COALESCE(MAX(id),0)+1 FROM "errant.t"').fetchone()[0]
        s.errant = True
        s.vars["gtid_next"] = gtid
        await s.execute(f"INSERT INTO errant.t VALUES ({int(n)}, '{time.time():.6f}')")
        u, gno = gtid.rsplit(":", 1)
        if not inst.gtid_executed.contains(u, int(gno)):
            raise errors.unknown_error("errant transaction was not logged")
        return gtid

    async def write_load(self, host: str, *, count: int, table: str = "app.load") -> dict[str, Any]:
        """Insert ``count`` rows as a client would (read-only and faults apply); report acknowledgements."""
        inst = self.instance(host)
        schema, _, tname = table.partition(".")
        if not tname:
            raise ValueError("table: expected schema.table")
        acked: list[int] = []
        failed: list[int] = []
        base = int(time.time() * 1000) % 1_000_000_000 * 1000
        s = self.internal_session(inst)
        s.internal = False  # behave like a client: read_only / super_read_only apply
        errors_seen: list[str] = []
        try:
            if inst.running and not inst.engine.table_exists(schema, tname):
                await s.execute(f"CREATE DATABASE IF NOT EXISTS `{schema}`")
                await s.execute(
                    f"CREATE TABLE IF NOT EXISTS `{schema}`.`{tname}` (id BIGINT PRIMARY KEY, "
                    f"v VARCHAR(64), at DOUBLE)"
                )
        except errors.MySQLError as e:
            errors_seen.append(e.message)
        for i in range(count):
            rid = base + i
            try:
                if not inst.running:
                    raise errors.server_shutdown()
                await s.execute(f"INSERT INTO `{schema}`.`{tname}` VALUES ({rid}, 'w{i}', {time.time():.6f})")
                acked.append(rid)
            except errors.MySQLError as e:
                failed.append(rid)
                if len(errors_seen) < 5:
                    errors_seen.append(f"{e.code}: {e.message}")
        return {"acknowledged": acked, "failed": failed, "errors": errors_seen}

    def set_apply_lag(self, host: str, seconds: float) -> dict[str, Any]:
        inst = self.instance(host)
        inst.faults["apply_lag"] = float(seconds)
        return {"host": inst.host, "apply_lag": float(seconds)}

    def stop_source(self, host: str) -> dict[str, Any]:
        inst = self.instance(host)
        inst.faults["stop_source"] = True
        return {"host": inst.host, "stop_source": True}

    def purge_binary_logs(self, host: str) -> dict[str, Any]:
        inst = self.instance(host)
        inst.purge_all_but_newest()
        return {"host": inst.host, "gtid_purged": str(inst.gtid_purged)}

    async def instance_state(self, host: str) -> dict[str, Any]:
        inst = self.instance(host)
        state: dict[str, Any] = {
            "name": inst.name,
            "host": inst.host,
            "running": inst.running,
            "server_uuid": inst.server_uuid,
            "gtid_executed": str(inst.gtid_executed),
            "gtid_purged": str(inst.gtid_purged),
            "super_read_only": bool(inst.variables.get_raw("super_read_only")),
            "read_only": bool(inst.variables.get_raw("read_only")),
            "gr_state": "OFFLINE",
            "channels": {},
            "clone_count": 0,
            "role": inst.role_hint,
        }
        try:
            from mysqlsim.replication import state as repl_state

            describe = getattr(repl_state, "describe", None)
            if describe is not None:
                state.update(describe(inst))
        except ImportError:
            pass
        await emit("instance_state", inst, state)
        return state

    # --- endpoints / shutdown ---------------------------------------------------------------------
    def refresh_roles(self) -> None:
        """endpoints.json roles from Group Replication state (PRIMARY/SECONDARY while ONLINE in a group)."""
        import sys

        group = sys.modules.get("mysqlsim.replication.group")
        if group is None:
            return
        for inst in self.instances.values():
            try:
                state = group.member_state(inst)
                primary = bool(group.is_primary(inst))
            except Exception:
                continue
            if state in ("ONLINE", "RECOVERING"):
                inst.role_hint = "PRIMARY" if primary else "SECONDARY"
            else:
                inst.role_hint = "STANDALONE"

    def endpoints(self, control_url: str) -> dict[str, Any]:
        self.refresh_roles()
        return {
            "control": control_url,
            "ca": str(self.ca.ca_path),
            "sites": {name: [m.describe() for m in site.members] for name, site in self.sites.items()},
        }

    def write_endpoints(self, control_url: str) -> Path:
        path = self.state_dir / "endpoints.json"
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.endpoints(control_url), indent=2))
        os.replace(tmp, path)
        return path

    async def stop(self) -> None:
        await emit("world_stopping", self)
        for host in list(self.servers):
            srv = self.servers.pop(host)
            await srv.stop()
        for inst in self.instances.values():
            if inst.running:
                await inst.on_stop()
