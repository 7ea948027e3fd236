#!/usr/bin/env python3
"""Build, start and stop a local Neo4j 5.26 Community server (Bolt only, no auth).

The server is a tiny Java launcher (``src/main/java/dev/vidya/neo4jdev/Main.java``)
built with Maven from the Neo4j community artifacts; no Docker and no Neo4j
distribution download are needed.  Standard library only, so it can be loaded
from a pytest ``conftest.py`` via :mod:`importlib`::

    spec = importlib.util.spec_from_file_location("neo4j_dev", path)
    neo4j_dev = importlib.util.module_from_spec(spec)
    sys.modules["neo4j_dev"] = neo4j_dev
    spec.loader.exec_module(neo4j_dev)

    neo4j_dev.build()
    port = neo4j_dev.free_port()
    proc = neo4j_dev.start(port, None, tmp_path / "neo4j.log")
    try:
        neo4j_dev.wait_ready(port, proc)
        ...  # bolt://127.0.0.1:{port}, auth=None
    finally:
        neo4j_dev.stop(proc)

CLI::

    python tools/neo4j-dev/neo4j_dev.py build [--force]
    python tools/neo4j-dev/neo4j_dev.py start [--port 7687] [--data-dir DIR] [--pidfile FILE]
    python tools/neo4j-dev/neo4j_dev.py status [--pidfile FILE]
    python tools/neo4j-dev/neo4j_dev.py stop [--pidfile FILE]
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import fcntl
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from collections.abc import Iterator, Sequence
from pathlib import Path

__all__ = [
    "DEFAULT_JVM_OPTS",
    "DEFAULT_LOG_FILE",
    "DEFAULT_PIDFILE",
    "DEFAULT_PORT",
    "JAR",
    "NEO4J_VERSION",
    "READY_PREFIX",
    "TOOL_DIR",
    "bolt_uri",
    "build",
    "free_port",
    "is_running",
    "java_executable",
    "needs_build",
    "port_in_use",
    "start",
    "stop",
    "wait_ready",
]

TOOL_DIR: Path = Path(__file__).resolve().parent
TARGET_DIR: Path = TOOL_DIR / "target"
JAR: Path = TARGET_DIR / "neo4j-dev.jar"
LIB_DIR: Path = TARGET_DIR / "lib"
POM: Path = TOOL_DIR / "pom.xml"
SRC_DIR: Path = TOOL_DIR / "src"
DEFAULT_PIDFILE: Path = TARGET_DIR / "neo4j-dev.pid"
#: AppCDS class archive made by build(); cuts JVM+Neo4j startup by ~40%.
CDS_ARCHIVE: Path = TARGET_DIR / "neo4j-dev.jsa"
DEFAULT_LOG_FILE: Path = TARGET_DIR / "neo4j-dev.log"
DEFAULT_PORT: int = 7687
HOST: str = "127.0.0.1"
#: Keep in sync with ``neo4j.version`` in pom.xml.
NEO4J_VERSION: str = "5.26.30"
#: The launcher prints exactly one line ``NEO4J-DEV READY bolt://127.0.0.1:<port>``.
READY_PREFIX: str = "NEO4J-DEV READY "
#: JVM options for a small (2-core) box. Override with env ``NEO4J_DEV_JAVA_OPTS``.
DEFAULT_JVM_OPTS: tuple[str, ...] = (
    "-Xms256m",
    "-Xmx1g",
    "-XX:+UseSerialGC",
    "-XX:+ExitOnOutOfMemoryError",
    "-XX:TieredStopAtLevel=1",
)
JAVA_OPTS_ENV: str = "NEO4J_DEV_JAVA_OPTS"
#: Set to ``0`` to skip making/using the AppCDS archive.
CDS_ENV: str = "NEO4J_DEV_CDS"

_ANSI_RE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# Log file of each process started by start(), so wait_ready() can find it.
_LOG_FILES: dict[int, Path] = {}


# --------------------------------------------------------------------------- helpers


def bolt_uri(port: int) -> str:
    """``bolt://127.0.0.1:<port>``."""
    return f"bolt://{HOST}:{port}"


def _tail(path: Path | None, lines: int = 40) -> str:
    if path is None:
        return "(no log file)"
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        return f"(cannot read {path}: {exc})"
    return "\n".join(text.splitlines()[-lines:]) or "(log is empty)"


def java_executable() -> str:
    """Path of ``java``: ``$JAVA_HOME/bin/java`` if present, else ``java`` on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        candidate = Path(java_home) / "bin" / "java"
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    found = shutil.which("java")
    if found is None:
        raise RuntimeError("java not found (install a JDK 17+ or set JAVA_HOME)")
    return found


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (bind to port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def port_in_use(port: int) -> bool:
    """True if something listens on 127.0.0.1:port (so Neo4j could not bind it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return True
            raise
    return False


def _tcp_accepting(port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------- build


def _newest_input_mtime() -> float:
    newest = POM.stat().st_mtime
    for path in SRC_DIR.rglob("*"):
        if path.is_file():
            newest = max(newest, path.stat().st_mtime)
    return newest


def _manifest_classpath_complete() -> bool:
    try:
        with zipfile.ZipFile(JAR) as jar:
            manifest = jar.read("META-INF/MANIFEST.MF").decode("utf-8")
    except (OSError, KeyError, zipfile.BadZipFile):
        return False
    # Manifest lines are wrapped at 72 bytes; continuation lines start with a space.
    unwrapped = manifest.replace("\r\n", "\n").replace("\n ", "")
    for line in unwrapped.splitlines():
        if line.startswith("Class-Path:"):
            entries = line.split(":", 1)[1].split()
            return bool(entries) and all((TARGET_DIR / e).is_file() for e in entries)
    return False


def needs_build() -> bool:
    """True if the jar or its ``target/lib`` is missing or older than pom.xml/sources."""
    if not JAR.is_file() or not LIB_DIR.is_dir():
        return True
    if JAR.stat().st_mtime < _newest_input_mtime():
        return True
    return not _manifest_classpath_complete()


@contextlib.contextmanager
def _build_lock() -> Iterator[None]:
    TARGET_DIR.mkdir(parents=True, exist_ok=True)
    with open(TARGET_DIR / ".build.lock", "w", encoding="utf-8") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build(force: bool = False) -> None:
    """Run ``mvn -q -B package -DskipTests`` if needed (or always with ``force``).

    Then (best effort, ~25 s) record an AppCDS archive by starting and stopping the
    server once; disable with env ``NEO4J_DEV_CDS=0``. Safe to call from several
    processes at once (file lock). Raises RuntimeError with the tail of Maven's
    output on failure.
    """
    if not force and not needs_build():
        return
    mvn = shutil.which("mvn")
    if mvn is None:
        raise RuntimeError("mvn not found (install Maven 3.8+)")
    with _build_lock():
        if not force and not needs_build():  # another process built it meanwhile
            return
        cmd = [mvn, "-q", "-B", "-Dstyle.color=never", "package", "-DskipTests"]
        result = subprocess.run(
            cmd,
            cwd=TOOL_DIR,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            check=False,
        )
        output = _ANSI_RE.sub("", result.stdout.decode("utf-8", errors="replace"))
        if result.returncode != 0 or not JAR.is_file():
            tail = "\n".join(output.strip().splitlines()[-40:])
            raise RuntimeError(f"maven build failed (exit {result.returncode}) in {TOOL_DIR}: {shlex.join(cmd)}\n{tail}")
        # maven-jar-plugin may leave an unchanged jar untouched; mark it fresh.
        os.utime(JAR)
        CDS_ARCHIVE.unlink(missing_ok=True)
        if _cds_enabled():
            _make_cds_archive()


def _cds_enabled() -> bool:
    return os.environ.get(CDS_ENV, "1").strip().lower() not in ("0", "false", "no")


def _cds_archive_fresh() -> bool:
    return _cds_enabled() and CDS_ARCHIVE.is_file() and JAR.is_file() and CDS_ARCHIVE.stat().st_mtime >= JAR.stat().st_mtime


def _make_cds_archive(timeout: float = 180.0) -> bool:
    """Start/stop the server once with -XX:ArchiveClassesAtExit. Never raises."""
    tmp = CDS_ARCHIVE.with_name(CDS_ARCHIVE.name + ".tmp")
    tmp.unlink(missing_ok=True)
    opts = [*DEFAULT_JVM_OPTS, "-Xlog:cds*=off", f"-XX:ArchiveClassesAtExit={tmp}"]
    code: int | None = None
    try:
        port = free_port()
        proc = start(
            port,
            None,
            TARGET_DIR / "cds-dump.log",
            jvm_opts=opts,
            build_if_needed=False,
        )
        try:
            wait_ready(port, proc, timeout=timeout)
        finally:
            code = stop(proc, timeout=timeout)  # the archive is written at exit
    except (OSError, RuntimeError) as exc:
        print(f"neo4j-dev: warning: no CDS archive: {exc}", file=sys.stderr)
    if code == 0 and tmp.is_file():
        tmp.replace(CDS_ARCHIVE)
        return True
    tmp.unlink(missing_ok=True)
    return False


# --------------------------------------------------------------------------- run


def _jvm_opts() -> list[str]:
    env = os.environ.get(JAVA_OPTS_ENV)
    if env is not None:
        return shlex.split(env)
    return list(DEFAULT_JVM_OPTS)


def start(
    port: int = DEFAULT_PORT,
    data_dir: Path | None = None,
    log_file: Path = DEFAULT_LOG_FILE,
    *,
    jvm_opts: Sequence[str] | None = None,
    page_cache_mb: int | None = None,
    detach: bool = False,
    build_if_needed: bool = True,
) -> subprocess.Popen[bytes]:
    """Launch the server in the background; returns immediately (use wait_ready()).

    ``data_dir`` None means a fresh temporary Neo4j home that the server deletes on a
    clean exit. stdout/stderr go to ``log_file`` (truncated); Neo4j's own logs go to
    ``<data_dir>/logs/``. ``detach`` puts the server in its own session
    (``start_new_session``) so it survives the caller's terminal/process group.
    JVM options: ``jvm_opts``, else env ``NEO4J_DEV_JAVA_OPTS``, else DEFAULT_JVM_OPTS;
    plus ``-XX:SharedArchiveFile`` when build() made a fresh AppCDS archive.
    """
    java = java_executable()
    if build_if_needed:
        build()
    elif needs_build():
        raise RuntimeError(f"neo4j-dev is not built: run build() first ({JAR} missing or stale)")
    if port_in_use(port):
        raise RuntimeError(f"port {port} already in use")
    opts = list(jvm_opts) if jvm_opts is not None else _jvm_opts()
    if _cds_archive_fresh() and not any(
        "SharedArchiveFile" in o or "ArchiveClassesAtExit" in o or o.startswith("-Xshare") for o in opts
    ):
        # -Xshare:auto (the default) silently ignores an unusable archive.
        opts.append(f"-XX:SharedArchiveFile={CDS_ARCHIVE}")
    cmd = [java, *opts]
    cmd += ["-jar", str(JAR), "--port", str(port)]
    if data_dir is not None:
        data_dir = Path(data_dir).resolve()
        data_dir.mkdir(parents=True, exist_ok=True)
        cmd += ["--data-dir", str(data_dir)]
    if page_cache_mb is not None:
        cmd += ["--page-cache-mb", str(page_cache_mb)]
    log_file = Path(log_file).resolve()
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with open(log_file, "wb") as log:
        proc = subprocess.Popen(
            cmd,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=detach,
            close_fds=True,
        )
    _LOG_FILES[proc.pid] = log_file
    return proc


def _ready_line_seen(log_file: Path, port: int) -> bool:
    try:
        with open(log_file, encoding="utf-8", errors="replace") as fh:
            return any(line.strip() == f"{READY_PREFIX}{bolt_uri(port)}" for line in fh)
    except OSError:
        return False


def wait_ready(
    port: int,
    proc: subprocess.Popen[bytes],
    timeout: float = 120.0,
    log_file: Path | None = None,
) -> None:
    """Block until Bolt on 127.0.0.1:port accepts TCP connections and the launcher
    printed its READY line (checked when the log file is known: ``log_file`` or the
    one given to start()).

    Raises RuntimeError (with the log tail) if the process exits first or on
    timeout. Does not stop the process on failure: call stop() yourself.
    """
    log = log_file if log_file is not None else _LOG_FILES.get(proc.pid)
    deadline = time.monotonic() + timeout
    while True:
        code = proc.poll()
        if code is not None:
            last = _tail(log, 1).strip()
            raise RuntimeError(
                f"neo4j-dev exited with code {code} before becoming ready: {last}\n--- {log} (tail) ---\n{_tail(log)}"
            )
        if (log is None or _ready_line_seen(log, port)) and _tcp_accepting(port):
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"neo4j-dev not ready on port {port} after {timeout:.0f}s\n--- {log} (tail) ---\n{_tail(log)}")
        time.sleep(0.2)


def _cmdline(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode("utf-8", errors="replace") for part in raw.split(b"\0") if part]


def _is_neo4j_dev(pid: int) -> bool:
    """True if pid is alive and looks like our launcher (guards against pid reuse)."""
    cmd = _cmdline(pid)
    if cmd is None:
        # No /proc (non-Linux): fall back to a liveness check.
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return sys.platform != "linux"
    return any(part.endswith("neo4j-dev.jar") or part == "dev.vidya.neo4jdev.Main" for part in cmd)


def is_running(pid: int) -> bool:
    """True if ``pid`` is a live (non-zombie) neo4j-dev launcher process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
        if stat.rsplit(")", 1)[-1].split()[0] == "Z":
            return False
    except (OSError, IndexError):
        pass
    return _is_neo4j_dev(pid)


def _port_of(pid: int) -> int | None:
    cmd = _cmdline(pid) or []
    for i, part in enumerate(cmd):
        if part == "--port" and i + 1 < len(cmd) and cmd[i + 1].isdigit():
            return int(cmd[i + 1])
        if part.startswith("--port="):
            value = part.split("=", 1)[1]
            return int(value) if value.isdigit() else None
    return None


def _reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def stop(proc_or_pid: subprocess.Popen[bytes] | int, timeout: float = 30.0) -> int | None:
    """SIGTERM, wait up to ``timeout`` seconds, then SIGKILL.

    Returns the exit code for a Popen (0 = clean shutdown), None for a bare pid.
    A pid that is gone or is not a neo4j-dev process is left alone.
    """
    if isinstance(proc_or_pid, subprocess.Popen):
        proc = proc_or_pid
        _LOG_FILES.pop(proc.pid, None)
        if proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                proc.wait()
        return proc.returncode

    pid = proc_or_pid
    if not is_running(pid):
        _reap(pid)
        return None
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(pid)
        if not is_running(pid):
            return None
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    for _ in range(100):
        _reap(pid)
        if not is_running(pid):
            break
        time.sleep(0.05)
    return None


# --------------------------------------------------------------------------- CLI


def _read_pidfile(pidfile: Path) -> int | None:
    try:
        text = pidfile.read_text(encoding="utf-8").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


def _cmd_build(args: argparse.Namespace) -> int:
    build(force=bool(args.force))
    print(f"built {JAR}")
    return 0


def _cmd_start(args: argparse.Namespace) -> int:
    pidfile: Path = args.pidfile
    port: int = args.port
    existing = _read_pidfile(pidfile)
    if existing is not None and is_running(existing):
        running_port = _port_of(existing)
        where = f" on {bolt_uri(running_port)}" if running_port else ""
        raise RuntimeError(f"already running (pid {existing}{where}, pidfile {pidfile})")
    java_executable()
    if needs_build():
        print("neo4j-dev: building (mvn package)...", file=sys.stderr, flush=True)
        build()
    if port_in_use(port):
        raise RuntimeError(f"port {port} already in use")
    log_file: Path = args.log
    proc = start(port, args.data_dir, log_file, detach=True, build_if_needed=False)
    try:
        wait_ready(port, proc, timeout=args.timeout)
    except BaseException as exc:
        stop(proc, timeout=10)
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RuntimeError(f"{first} (log: {log_file})") from exc
    pidfile.parent.mkdir(parents=True, exist_ok=True)
    pidfile.write_text(f"{proc.pid}\n", encoding="utf-8")
    print(bolt_uri(port), flush=True)
    return 0


def _cmd_stop(args: argparse.Namespace) -> int:
    pidfile: Path = args.pidfile
    pid = _read_pidfile(pidfile)
    if pid is None or not is_running(pid):
        pidfile.unlink(missing_ok=True)
        print("neo4j-dev: not running", file=sys.stderr)
        return 0
    stop(pid, timeout=args.timeout)
    if is_running(pid):
        raise RuntimeError(f"pid {pid} did not exit")
    pidfile.unlink(missing_ok=True)
    print(f"stopped pid {pid}")
    return 0


def _cmd_status(args: argparse.Namespace) -> int:
    pidfile: Path = args.pidfile
    pid = _read_pidfile(pidfile)
    if pid is None or not is_running(pid):
        print("not running")
        return 1
    port = _port_of(pid)
    uri = bolt_uri(port) if port is not None else "?"
    state = "ready" if port is not None and _tcp_accepting(port) else "starting"
    print(f"running pid {pid} {uri} ({state})")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="neo4j_dev.py",
        description=f"Local Neo4j {NEO4J_VERSION} Community server (Bolt, no auth) for dev/tests.",
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p_build = sub.add_parser("build", help="build the launcher with Maven if out of date")
    p_build.add_argument("--force", action="store_true", help="rebuild even if up to date")
    p_build.set_defaults(func=_cmd_build)

    p_start = sub.add_parser("start", help="start in the background and wait until ready")
    p_start.add_argument("--port", type=int, default=DEFAULT_PORT)
    p_start.add_argument("--data-dir", type=Path, default=None, help="default: temporary")
    p_start.add_argument("--pidfile", type=Path, default=DEFAULT_PIDFILE)
    p_start.add_argument("--log", type=Path, default=DEFAULT_LOG_FILE)
    p_start.add_argument("--timeout", type=float, default=120.0, help="seconds to wait")
    p_start.set_defaults(func=_cmd_start)

    p_stop = sub.add_parser("stop", help="stop the server named by the pid file")
    p_stop.add_argument("--pidfile", type=Path, default=DEFAULT_PIDFILE)
    p_stop.add_argument("--timeout", type=float, default=30.0, help="seconds before SIGKILL")
    p_stop.set_defaults(func=_cmd_stop)

    p_status = sub.add_parser("status", help="exit 0 if running, 1 if not")
    p_status.add_argument("--pidfile", type=Path, default=DEFAULT_PIDFILE)
    p_status.set_defaults(func=_cmd_status)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except RuntimeError as exc:
        message = str(exc).strip().splitlines()
        print(f"neo4j-dev: error: {message[0] if message else 'failed'}", file=sys.stderr)
        if args.command == "build" and len(message) > 1:
            print("\n".join(message[1:]), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":
    sys.exit(main())
