"""Loaded by every Python process started with this folder on ``PYTHONPATH``
(``tests/test_offline.py``): records each attempt to reach another machine (a DNS look-up or a
connection to an address that is not loopback) and each program started, one line each, in
the file ``ASKDEF_TEST_NETWORK_LOG`` names. Forked children inherit the hook, so a library
that sends from a child process (OpenVINO's telemetry does) is caught too."""

from __future__ import annotations

import ipaddress
import os
import sys
from typing import Any

_LOG = os.environ.get("ASKDEF_TEST_NETWORK_LOG", "")
_LOOKUPS = {
    "socket.getaddrinfo",
    "socket.gethostbyname",
    "socket.gethostbyname_ex",
    "socket.gethostbyaddr",
}
_SENDS = {"socket.connect", "socket.sendto", "socket.sendmsg"}
_PROGRAMS = {"subprocess.Popen", "os.exec", "os.posix_spawn", "os.spawn", "os.system"}


def _loopback(host: Any) -> bool:
    if host is None:  # getaddrinfo(None, port): the local machine's own addresses
        return True
    name = host.decode(errors="replace") if isinstance(host, bytes) else str(host)
    if name == "localhost" or name.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(name.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _violation(event: str, args: tuple[Any, ...]) -> str | None:
    if event in _LOOKUPS:
        return None if _loopback(args[0]) else f"look-up {args[0]!r}"
    if event in _SENDS:
        address = args[1]
        if not isinstance(address, tuple):  # a Unix socket: this machine
            return None
        return None if _loopback(address[0]) else f"connect {address!r}"
    if event in _PROGRAMS:
        return f"program {args[0]!r}"
    return None


def _hook(event: str, args: tuple[Any, ...]) -> None:
    if not (event in _LOOKUPS or event in _SENDS or event in _PROGRAMS):
        return
    try:
        found = _violation(event, args)
    except Exception as exc:  # an unexpected argument shape is itself worth a look
        found = f"{event} {exc!r}"
    if found:
        line = f"{os.getpid()} {event}: {found}\n".encode()
        fd = os.open(_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)


if _LOG:
    sys.addaudithook(_hook)
