"""deploy/Dockerfile, checked statically (docker cannot run on the machines that build this project, so the
image is not built in tests), and the claim it rests on: the production commands import nothing from the
`sim` extra (mysqlsim, kubesim and their dependencies are not in the image)."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib

from deploy_helpers import DEPLOY, ROOT

DOCKERFILE = DEPLOY / "Dockerfile"
SIM_PACKAGES = ("mysqlsim", "kubesim")
# Import names of the `sim` extra's distributions: none may be needed by the production commands.
SIM_MODULES = (*SIM_PACKAGES, "mysql_mimic", "sqlglot", "pymysql", "jsonpatch", "celpy")
PRODUCTION_MODULES = (
    "cli",
    "cli.watcher",
    "cli.worker",
    "watcher.main",
    "watcher.release",
    "worker.run",
    "worker.client",
    "activities.temporal",
    "activities.steps",
    "activities.kube",
    "activities.credentials",
    "workflows.clusterset",
)


def _stages() -> list[list[str]]:
    """The Dockerfile's instructions (continuation lines joined, comments dropped), split by FROM."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    stages: list[list[str]] = []
    for line in lines:
        if line.upper().startswith("FROM "):
            stages.append([])
        stages[-1].append(line)
    return stages


def test_two_stages_on_python_311_slim() -> None:
    stages = _stages()
    assert len(stages) == 2
    assert stages[0][0].split()[1] == "python:3.11-slim"
    assert stages[1][0] == "FROM python:3.11-slim"


def test_the_final_stage_has_no_build_tools_and_runs_unprivileged() -> None:
    final = _stages()[-1]
    text = "\n".join(final)
    assert not re.search(r"apt-get|apk |pip install|gcc|build-essential|\bmake\b", text), text
    copies = [ln for ln in final if ln.upper().startswith("COPY")]
    assert copies and all(ln.startswith("COPY --from=build ") for ln in copies), copies
    user = [ln for ln in final if ln.upper().startswith("USER ")][-1].split()[1]
    uid, _, gid = user.partition(":")
    assert uid.isdigit() and int(uid) >= 1000 and (not gid or int(gid) >= 1000)
    assert f"useradd --uid {uid} " in text  # the user exists in /etc/passwd (getpass.getuser works)
    assert final[-1].startswith("CMD") or final[-1].startswith("ENTRYPOINT")
    assert 'ENTRYPOINT ["csctl"]' in final
    assert "HOME=/tmp" in text  # the root filesystem is read-only in the pods


def test_every_product_package_is_copied_and_no_simulator() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    packages = {p.rstrip("*") for p in patterns}
    build = "\n".join(_stages()[0])
    copied = set(re.findall(r"^COPY (\w+) \./\1$", build, flags=re.MULTILINE))
    assert copied == packages - set(SIM_PACKAGES)
    ignore = (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
    assert ignore[1] == "**"  # deny everything, then allow what the Dockerfile copies
    allowed = {ln[1:].split("/")[0] for ln in ignore if ln.startswith("!")}
    assert allowed == copied | {"pyproject.toml", "README.md"}
    for name in copied:
        assert (ROOT / name / "__init__.py").exists(), name


def test_production_commands_need_no_simulator_package() -> None:
    """Import every module the worker and watcher run with the `sim` extra made unimportable."""
    script = (
        "import importlib, importlib.abc, sys\n"
        f"BLOCKED = {SIM_MODULES!r}\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.split('.')[0] in BLOCKED:\n"
        "            raise ImportError(f'{name} is in the sim extra, not in the image')\n"
        "        return None\n"
        "sys.meta_path.insert(0, Block())\n"
        f"for module in {PRODUCTION_MODULES!r}:\n"
        "    importlib.import_module(module)\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "ok"
