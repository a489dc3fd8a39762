"""A Citus cluster from the embedded PostgreSQL: a coordinator and workers on free loopback
ports, each with its own data directory. Citus is built (or taken from the cache) by
deploy/citus/build.sh and installed into the embedded server's tree first.

    python -m tests.citus.cluster DIR   # starts one and prints the coordinator's URL
"""

from __future__ import annotations

import os
import pwd
import secrets
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psycopg

from service.embedded import PG_DATABASE, PG_SYSTEM_USER, EmbeddedPostgres

ROOT = Path(__file__).resolve().parents[2]
BUILD = ROOT / "deploy" / "citus" / "build.sh"


def build_citus() -> float:
    """Builds Citus or reuses the cache; returns the seconds it took."""
    started = time.monotonic()
    subprocess.run([str(BUILD)], check=True, cwd=ROOT)
    return time.monotonic() - started


@dataclass
class CitusCluster:
    root: Path
    workers: int = 2
    password: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    nodes: list[EmbeddedPostgres] = field(default_factory=list)

    @property
    def coordinator(self) -> EmbeddedPostgres:
        return self.nodes[0]

    @property
    def worker_nodes(self) -> list[EmbeddedPostgres]:
        return self.nodes[1:]

    def url(self, database: str = PG_DATABASE) -> str:
        return self.coordinator.url(database)

    def _node(self, name: str) -> EmbeddedPostgres:
        node = EmbeddedPostgres(self.root / name, fast=True)
        node.root.mkdir(parents=True, exist_ok=True)
        # One superuser password on every node: the coordinator and the workers log in to each other.
        node.password_file.write_text(self.password + "\n")
        node.password_file.chmod(0o600)
        return node

    def _passfile(self) -> None:
        """The servers' own logins to each other outside Citus's connections (the subscriptions of
        a shard move) read the password from PGPASSFILE, which the servers inherit from us."""
        passfile = self.root / "pgpass"
        self.root.mkdir(parents=True, exist_ok=True)
        passfile.write_text(f"127.0.0.1:*:*:postgres:{self.password}\n")
        passfile.chmod(0o600)
        if os.geteuid() == 0:
            entry = pwd.getpwnam(PG_SYSTEM_USER)
            os.chown(passfile, entry.pw_uid, entry.pw_gid)
            os.chmod(self.root, 0o755)
        os.environ["PGPASSFILE"] = str(passfile)

    def start(self) -> str:
        names = ["coordinator"] + [f"worker{n}" for n in range(1, self.workers + 1)]
        self._passfile()
        self.nodes = [self._node(name) for name in names]
        for node in self.nodes:
            node.start()
            with psycopg.connect(node.url("postgres"), autocommit=True) as conn:
                conn.execute("ALTER SYSTEM SET shared_preload_libraries = 'citus'")
                # Shard moves copy by logical replication.
                conn.execute("ALTER SYSTEM SET wal_level = 'logical'")
                conn.execute("ALTER SYSTEM SET max_worker_processes = 32")
                if node.fast:
                    # An asynchronous commit waits this long to be written: a move would lose such
                    # commits (see synchronous_commit below), here often enough for a test to see.
                    conn.execute("ALTER SYSTEM SET wal_writer_delay = 10000")
            node.stop()
            node.start()
            with psycopg.connect(node.url(), autocommit=True) as conn:
                # The test servers commit asynchronously (fast); a shard move's catch-up waits only
                # for the source's WAL write position, which an asynchronous commit may not have
                # reached: the move would switch without it and lose it (deploy/README.md).
                conn.execute(f"ALTER DATABASE {PG_DATABASE} SET synchronous_commit = on")
                conn.execute("CREATE EXTENSION IF NOT EXISTS citus")
        with psycopg.connect(self.url(), autocommit=True) as conn:
            # How the nodes log in to each other (pg_dist_authinfo is copied to every node).
            conn.execute("INSERT INTO pg_dist_authinfo (nodeid, rolename, authinfo) VALUES (0, 'postgres', %s), "
                         "(-1, 'postgres', %s)", (f"password={self.password}",) * 2)
            conn.execute("SELECT citus_set_coordinator_host('127.0.0.1', %s)", (self.coordinator.port,))
            for worker in self.worker_nodes:
                conn.execute("SELECT citus_add_node('127.0.0.1', %s)", (worker.port,))
        return self.url()

    @classmethod
    def attach(cls, root: Path) -> CitusCluster:
        """The cluster already running in `root` (started by `python -m tests.citus.cluster`)."""
        names = ["coordinator"] + sorted(p.name for p in root.iterdir() if p.name.startswith("worker"))
        password = (root / "coordinator" / "db-owner-password").read_text().strip()
        cluster = cls(root, workers=len(names) - 1, password=password)
        cluster.nodes = [EmbeddedPostgres(root / name, fast=True) for name in names]
        for node in cluster.nodes:
            assert node.attach(), f"no server running in {node.root}"
        os.environ["PGPASSFILE"] = str(root / "pgpass")
        return cluster

    def allow_role(self, role: str, password: str) -> None:
        """Lets every node reach the others as `role` (the app role's queries run there as itself):
        the coordinator the workers, and a worker the other worker (a delegated function's query
        on shards placed there). pg_dist_authinfo is not copied between nodes."""
        for node in self.nodes:
            with psycopg.connect(node.url(), autocommit=True) as conn:
                conn.execute("DELETE FROM pg_dist_authinfo WHERE rolename = %s", (role,))
                conn.execute("INSERT INTO pg_dist_authinfo (nodeid, rolename, authinfo) VALUES (0, %s, %s), "
                             "(-1, %s, %s)", (role, f"password={password}", role, f"password={password}"))

    def stop(self) -> None:
        for node in reversed(self.nodes):
            node.stop()


if __name__ == "__main__":
    build_citus()
    cluster = CitusCluster(Path(sys.argv[1]))
    print(cluster.start())
