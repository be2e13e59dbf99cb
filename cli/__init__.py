"""`csctl`: the command line of the ClusterSet orchestrator.

Sub-commands live in their own modules and are imported only when invoked, so `csctl --help` stays fast
and a command never pays for another's imports (temporalio, kubernetes, mysqlsim). Each entry of
`COMMANDS` maps a command name to ``"module:attribute"``.
"""

from __future__ import annotations

import importlib
from typing import Any

import click

COMMANDS: dict[str, tuple[str, str]] = {
    # name: (module:attribute, one-line help shown by `csctl --help`)
    "crd": ("cli.crd:crd", "Print the CustomResourceDefinition generated from the api/ models."),
    "demo": ("cli.demo:demo", "Run the whole stack locally: Temporal dev server + UI, worker, and more."),
    "worker": ("cli.worker:worker", "Run the Temporal worker (workflows and activities)."),
    "codec-server": ("cli.worker:codec_server", "Serve the payload codec for the Temporal Web UI."),
    "watcher": ("cli.watcher:watcher", "Watch PerconaServerMySQLClusterSet CRs and relay them to Temporal."),
    "release-finalizer": (
        "cli.watcher:release_finalizer",
        "Escape hatch: release a CR whose dissolve cannot finish.",
    ),
    "failover": ("cli.clusterset:failover", "Emergency failover to a replica cluster (needs --force)."),
    "rejoin": ("cli.clusterset:rejoin", "Rejoin an invalidated or diverged cluster to its ClusterSet."),
    "status": ("cli.clusterset:status", "Show a ClusterSet's status and operations as the workflow sees it."),
    "history": ("cli.clusterset:history", "The operations a ClusterSet's workflow ran, and how they ended."),
    "plan": ("cli.clusterset:plan", "Dry run: the steps an operation would run and which are already done."),
}


class LazyGroup(click.Group):
    """A click group whose commands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        entry = COMMANDS.get(cmd_name)
        if entry is None:
            return None
        module_name, _, attr = entry[0].partition(":")
        command = getattr(importlib.import_module(module_name), attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"{entry[0]} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Use the static help lines so that `csctl --help` imports nothing.
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name][1]) for name in sorted(COMMANDS)])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="clusterset-orchestrator")
def main(**_: Any) -> None:
    """Durable orchestrator for MySQL InnoDB ClusterSet on Temporal."""
