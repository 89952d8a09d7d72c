"""Several server processes on one port, the kernel sharing the connections out between them.

uvicorn's own workers share one listening socket: the worker that wakes first accepts a whole
burst of new connections, and a keep-alive connection stays with the worker that accepted it
(measured with bench/web.py: 16 of 20 connections on one worker of two, p95 2.3 s on the
PostgreSQL book). Here each worker listens on a socket of its own, all on the same port
(SO_REUSEPORT), and the kernel spreads new connections across the sockets.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import socket
from multiprocessing.connection import wait
from typing import Any

import uvicorn

from keepwell.jobs.worker import end_with
from keepwell.web.factory import FACTORY

BACKLOG = 2048  # uvicorn's default


def shared_port_supported() -> bool:
    return hasattr(socket, "SO_REUSEPORT")


def serve_processes(
    count: int, host: str, port: int, log_config: dict[str, Any], *, access_log: bool = True
) -> None:
    """`count` uvicorn servers of the app factory, one process each, until a signal (or one
    of them exits: then all stop, with status 1)."""
    _refuse_a_port_in_use(host, port)
    sockets = [_listening(host, port) for _ in range(count)]
    spawn = multiprocessing.get_context("spawn")  # fresh interpreters: no engine forked
    workers = [
        spawn.Process(
            target=_worker,
            args=(sock, log_config, os.getpid(), access_log),
            name=f"keepwell-worker-{n}",
        )
        for n, sock in enumerate(sockets, 1)
    ]
    for worker in workers:
        worker.start()
    for sock in sockets:
        sock.close()  # each worker holds its own now
    stopping = False

    def stop(signum: int = signal.SIGTERM, _frame: object = None) -> None:
        nonlocal stopping
        stopping = True
        for worker in workers:
            if worker.pid is not None and worker.exitcode is None:
                os.kill(worker.pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    wait([worker.sentinel for worker in workers])  # the first to end
    failed = not stopping
    stop()
    for worker in workers:
        worker.join()
    if failed:
        raise SystemExit(1)


def _refuse_a_port_in_use(host: str, port: int) -> None:
    """OSError when something listens on the port, even another group of workers (whose
    SO_REUSEPORT sockets would otherwise let ours join theirs and share its traffic)."""
    with socket.socket(_family(host), socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))


def _family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def _listening(host: str, port: int) -> socket.socket:
    sock = socket.socket(_family(host), socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(BACKLOG)
    sock.set_inheritable(True)
    return sock


def _worker(sock: socket.socket, log_config: dict[str, Any], parent: int, access_log: bool) -> None:
    end_with(parent)
    config = uvicorn.Config(
        FACTORY, factory=True, loop="uvloop", http="httptools", log_config=log_config,
        access_log=access_log,
    )  # fmt: skip
    uvicorn.Server(config).run(sockets=[sock])
