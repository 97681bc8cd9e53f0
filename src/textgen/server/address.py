"""Listen addresses: format host:port, and say precisely why one cannot be listened on.

grpcio reports a failed bind only as a generic error (and logs a C-core line), so before
binding, the server tries the address with a plain socket and turns the operating system's
answer into one sentence.
"""

from __future__ import annotations

import errno
import socket


class AddressUnavailableError(OSError):
    """The server cannot listen on the address; the message says why and what to change."""


def format_address(host: str, port: int) -> str:
    """host:port, with an IPv6 host in brackets."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def check_address(host: str, port: int) -> None:
    """Raise AddressUnavailableError unless a server could listen on host:port right now."""
    address = format_address(host, port)
    # An ASCII host is passed as bytes: as a str it would go through the IDNA codec first,
    # whose first use costs a server about a millisecond of its start, for the same bytes.
    name = host.encode("ascii") if host.isascii() else host
    try:
        infos = socket.getaddrinfo(name, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        raise AddressUnavailableError(
            f"cannot listen on {address}: the host name does not resolve ({error.strerror})"
        ) from None
    family, kind, proto, _, sockaddr = infos[0]
    with socket.socket(family, kind, proto) as probe:
        # As grpc does, so a port left in TIME_WAIT by a previous run counts as free.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(sockaddr)
        except OSError as error:
            raise AddressUnavailableError(f"cannot listen on {address}: {_why(error)}") from None


def _why(error: OSError) -> str:
    if error.errno == errno.EADDRINUSE:
        return "the port is in use (pick another with --port, or 0 for any free port)"
    if error.errno == errno.EADDRNOTAVAIL:
        return "the host is not an address of this machine (try 127.0.0.1 or 0.0.0.0)"
    if error.errno == errno.EACCES:
        return "permission denied (ports below 1024 need privileges)"
    return error.strerror or str(error)
