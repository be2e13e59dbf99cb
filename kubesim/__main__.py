"""`python -m kubesim --port P --kubeconfig OUT [--crd deploy/crd.yaml]`: run the simulator.

It serves in the foreground until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from pathlib import Path

from aiohttp import web

from kubesim.kubeconfig import write_kubeconfig
from kubesim.server import KubeSim


async def _serve(args: argparse.Namespace) -> None:
    sim = KubeSim(
        history_size=args.history_size,
        state_file=args.state_file,
        bookmark_interval=args.bookmark_interval,
        validation=not args.no_validation,
    )
    for crd in args.crd:
        sim.install_crd_file(crd)
    sim.save()
    runner = web.AppRunner(sim.app(), handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, args.host, args.port)
    await site.start()
    port = runner.addresses[0][1]
    sim.address = f"{args.host}:{port}"
    server = f"http://{args.host}:{port}"
    if args.kubeconfig:
        write_kubeconfig(Path(args.kubeconfig), server=server, namespace=args.namespace)
    print(f"kubesim listening on {server}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kubesim", description="A local Kubernetes API server for tests."
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--kubeconfig", help="write a kubeconfig for this server to this path")
    parser.add_argument("--namespace", default="default", help="the kubeconfig context's namespace")
    parser.add_argument(
        "--crd", action="append", default=[], help="a YAML file of CRDs to install (repeatable)"
    )
    parser.add_argument("--history-size", type=int, default=1000, help="watch events kept (older: 410 Gone)")
    parser.add_argument(
        "--bookmark-interval", type=float, default=5.0, help="seconds between watch BOOKMARKs"
    )
    parser.add_argument(
        "--no-validation", action="store_true", help="skip CRD schema and CEL admission checks"
    )
    parser.add_argument("--state-file", help="save objects here on every write, and load them at start")
    args = parser.parse_args(argv)
    try:
        asyncio.run(_serve(args))
    except OSError as exc:
        print(f"kubesim: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
