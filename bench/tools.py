"""The comparison tools' virtual environments: create them, install the pinned
versions, and find the executables.

    python bench/tools.py           # create/update both environments, print what is there

* ``bench/.venv-tools``: ruff and semgrep (``bench/requirements-tools.txt``);
* ``bench/.venv-fixit``: Fixit (``bench/requirements-fixit.txt``) -- apart because
  fixit 2.2.1 needs click<8.2 while semgrep 1.185 needs click~=8.4.2.

Each environment is (re)installed only when its requirements file changed (a
stamp holds the file's hash). Installing never hangs (every pip call has a
timeout) and never stops the benchmark: a tool that could not be installed is
reported as missing, with the reason, and the benchmark goes on without it.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
INSTALL_TIMEOUT = 900  # seconds for one pip install (semgrep's wheel is large)
VERSION_TIMEOUT = 60


@dataclass(frozen=True)
class Env:
    name: str  # directory under bench/
    requirements: str  # file under bench/
    executables: tuple[str, ...]  # the tools it provides

    @property
    def path(self) -> Path:
        return BENCH / self.name

    @property
    def bin(self) -> Path:
        return self.path / "bin"


ENVS = (
    Env(".venv-tools", "requirements-tools.txt", ("ruff", "semgrep")),
    Env(".venv-fixit", "requirements-fixit.txt", ("fixit",)),
)


@dataclass
class Tool:
    name: str
    path: str | None  # None: missing
    version: str = ""
    problem: str = ""  # why it is missing


def _requirements(env: Env) -> list[str]:
    lines = (BENCH / env.requirements).read_text().splitlines()
    return [line.split("#")[0].strip() for line in lines if line.split("#")[0].strip()]


def _stamp(env: Env) -> str:
    return hashlib.sha256((BENCH / env.requirements).read_bytes()).hexdigest()


def _pip(env: Env, args: list[str]) -> tuple[bool, str]:
    """Run pip in `env`; (succeeded, last lines of its output)."""
    command = [str(env.bin / "python"), "-m", "pip", "--disable-pip-version-check", *args]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=INSTALL_TIMEOUT,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return False, f"pip did not finish within {INSTALL_TIMEOUT} s"
    # pip's own noise about unusable local index locations is not the reason for a failure.
    lines = [line for line in (done.stdout + done.stderr).splitlines()
             if line.strip() and "is ignored: it is neither a file nor a directory" not in line]
    return done.returncode == 0, "\n".join(lines[-8:])


def ensure(env: Env, python: str = sys.executable) -> list[str]:
    """Create and fill `env` if its stamp is stale. Returns problems (empty: all installed)."""
    stamp_file = env.path / ".installed"
    if stamp_file.is_file() and stamp_file.read_text() == _stamp(env):
        return []
    problems: list[str] = []
    if not (env.bin / "python").exists():
        print(f"bench: creating {env.path.relative_to(BENCH.parent)} ...", file=sys.stderr)
        try:
            subprocess.run([python, "-m", "venv", str(env.path)], check=True, timeout=300,
                           capture_output=True, text=True)
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            detail = getattr(exc, "stderr", "") or str(exc)
            return [f"could not create {env.path}: {detail.strip()[-500:]} "
                    "(on Debian/Ubuntu: apt-get install python3-venv)"]
    print(f"bench: installing {env.requirements} into {env.path.relative_to(BENCH.parent)} "
          "(once; again only when the file changes) ...", file=sys.stderr)
    ok, output = _pip(env, ["install", "--quiet", "-r", str(BENCH / env.requirements)])
    if not ok:
        # One tool that cannot be installed must not take the others down with it.
        for requirement in _requirements(env):
            ok_one, output_one = _pip(env, ["install", "--quiet", requirement])
            if not ok_one:
                problems.append(f"pip could not install {requirement} into {env.path}:\n    "
                                + output_one.replace("\n", "\n    "))
    if not problems:
        stamp_file.write_text(_stamp(env))
    return problems


def _version(command: list[str]) -> str:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=VERSION_TIMEOUT,
                              stdin=subprocess.DEVNULL, env=tool_env())
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    text = (done.stdout or done.stderr).strip().splitlines()
    return text[-1] if text else "unknown"


def tool_env() -> dict[str, str]:
    """Environment for the comparison tools: semgrep must not phone home (each
    check stalls a run for up to ~100 s when the network is unreachable)."""
    env = dict(os.environ)
    env.update(SEMGREP_ENABLE_VERSION_CHECK="0", SEMGREP_SEND_METRICS="off")
    return env


def setup(install: bool = True) -> dict[str, Tool]:
    """Ensure both environments (unless `install` is False) and locate every tool."""
    problems: dict[str, list[str]] = {}
    for env in ENVS:
        problems[env.name] = ensure(env) if install else []
        for message in problems[env.name]:
            print(f"bench: WARNING: {message}", file=sys.stderr)
    tools: dict[str, Tool] = {}
    for env in ENVS:
        for name in env.executables:
            path = env.bin / name
            if path.exists():
                version = _version([str(path), "--version"])
                if name == "semgrep":
                    version = f"semgrep {version}"
                tools[name] = Tool(name, str(path), version)
            else:
                reason = "; ".join(p.splitlines()[0] for p in problems[env.name]) or \
                    f"not installed in {env.path} (run `make bench` to install it)"
                tools[name] = Tool(name, None, problem=reason)
                print(f"bench: {name} is missing: {reason}. It will be reported as missing.", file=sys.stderr)
    return tools


def main() -> int:
    for tool in setup().values():
        print(f"{tool.name:8} {tool.version if tool.path else 'MISSING: ' + tool.problem}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
