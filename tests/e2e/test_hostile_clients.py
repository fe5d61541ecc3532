"""Hostile and slow clients against a real `footfall serve` process, over raw sockets.

What uvicorn alone would let a client do (measured before the guard: a 125 MiB header line
read into memory; an idle or trickling connection kept forever) must end quickly and cost
bounded memory: request heads are bounded in time and size (431/408), bodies in time (408)
and size (413), and beyond `FOOTFALL_MAX_CONCURRENCY` connections new requests get 503.
Meanwhile the server keeps answering everyone else.
"""

from __future__ import annotations

import contextlib
import itertools
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.serverproc import ServerProcess, footfall_cli, footfall_server

pytestmark = pytest.mark.slow

HEAD_TIMEOUT = 1.0
BODY_TIMEOUT = 1.0
ENV = {
    "FOOTFALL_REQUEST_HEAD_TIMEOUT_SECONDS": str(HEAD_TIMEOUT),
    "FOOTFALL_REQUEST_BODY_TIMEOUT_SECONDS": str(BODY_TIMEOUT),
    "FOOTFALL_MAX_REQUEST_HEAD_BYTES": "16384",
    "FOOTFALL_MAX_CONCURRENCY": "40",
}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    data_dir = tmp_path_factory.mktemp("hostile") / "data"
    with footfall_server(data_dir, env=ENV) as running:
        yield running


@pytest.fixture(scope="module")
def site_id(server: ServerProcess) -> str:
    data_dir = Path(server.log_path).parent / "data"
    return footfall_cli("sites", "add", "example.com", data_dir=data_dir).stdout.split()[-1]


@contextlib.contextmanager
def connect(server: ServerProcess) -> Iterator[socket.socket]:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    try:
        yield sock
    finally:
        sock.close()


def read_all(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def offer(sock: socket.socket, head: bytes, data: Iterator[bytes]) -> tuple[int, bytes]:
    """Send `head`, then `data` piece by piece until the server answers or hangs up; how many
    bytes of `data` were sent, and the server's answer. Checking for an answer before each
    piece keeps the client from sending into a closed connection (whose unread bytes would
    make the kernel reset it, destroying the answer)."""
    sock.sendall(head)
    sent = 0
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        for piece in data:
            if select.select([sock], [], [], 0)[0]:
                break
            sock.sendall(piece)
            sent += len(piece)
    return sent, read_all(sock)


def rss_kib(server: ServerProcess) -> int:
    for line in Path(f"/proc/{server.process.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def healthy(server: ServerProcess) -> bool:
    return httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200


def test_idle_connection_is_closed(server: ServerProcess) -> None:
    with connect(server) as sock:
        started = time.monotonic()
        assert read_all(sock) == b""  # closed without an answer: nothing was asked
        assert time.monotonic() - started < HEAD_TIMEOUT + 2


def test_trickled_head_times_out(server: ServerProcess) -> None:
    with connect(server) as sock:
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        answer = b""
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            for _ in range(50):  # one header byte every 0.1 s, never finishing
                sock.sendall(b"X")
                time.sleep(0.1)
                if time.monotonic() - started > HEAD_TIMEOUT + 1:
                    break
        answer = read_all(sock)
        assert answer.startswith(b"HTTP/1.1 408 ")
        assert b'"error":"The request headers took too long to arrive"' in answer
        assert time.monotonic() - started < HEAD_TIMEOUT + 3
    assert healthy(server)


def test_slow_second_request_on_a_kept_alive_connection(server: ServerProcess) -> None:
    with connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        first = b""
        while b'"dropped"' not in first:  # the whole first answer (its body ends the JSON)
            first += sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200 ")
        started = time.monotonic()
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")  # ... and the rest never comes
        rest = read_all(sock)
        assert rest.split(b"HTTP/1.1 ")[-1].startswith(b"408 ")
        assert time.monotonic() - started < HEAD_TIMEOUT + 2


def test_huge_header_is_refused_without_reading_it(server: ServerProcess) -> None:
    before = rss_kib(server)
    with connect(server) as sock:
        sent, answer = offer(
            sock,
            b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ",
            itertools.repeat(b"a" * 4096, 16 * 1024),  # 64 MiB offered
        )
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert b'"error":"The request line and headers are too large"' in answer
    # Refused within the first MiBs (what the kernel's socket buffers take), not all 64.
    assert sent < 16 * 1024 * 1024
    assert rss_kib(server) - before < 16 * 1024
    assert healthy(server)


def test_many_small_headers_are_refused(server: ServerProcess) -> None:
    with connect(server) as sock:
        headers = (b"X-H%d: v\r\n" % i for i in range(100_000))
        sent, answer = offer(sock, b"GET /healthz HTTP/1.1\r\nHost: x\r\n", headers)
    assert answer.startswith(b"HTTP/1.1 431 ")
    assert sent < 16 * 1024 * 1024


def test_trickled_body_times_out(server: ServerProcess, site_id: str) -> None:
    with connect(server) as sock:
        started = time.monotonic()
        sock.sendall(
            b"POST /api/event HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\n"
            b"Content-Length: 200\r\n\r\n" + b'{"websiteId": "' + site_id.encode()
        )
        answer = read_all(sock)
        assert answer.startswith(b"HTTP/1.1 408 "), answer
        assert b"The request body did not arrive within 1 seconds" in answer
        assert time.monotonic() - started < BODY_TIMEOUT + 2
    assert healthy(server)


def test_oversized_body_is_refused_before_it_is_read(server: ServerProcess) -> None:
    with connect(server) as sock:
        sock.sendall(b"POST /api/event HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n{")
        answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 413 ")
    # Chunked (no length declared): refused as soon as the limit is passed.
    with connect(server) as sock:
        sock.sendall(b"POST /api/event HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
        answer = b""
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            for _ in range(100):
                sock.sendall(b"4000\r\n" + b"a" * 0x4000 + b"\r\n")
        answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 413 ")


def test_malformed_requests_get_400(server: ServerProcess) -> None:
    for raw in (
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Nul: a\x00b\r\n\r\n",
        b"GET /heal\x00thz HTTP/1.1\r\nHost: x\r\n\r\n",
        b"NOT-HTTP\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 7\r\n\r\n",
    ):
        with connect(server) as sock:
            sock.sendall(raw)
            assert read_all(sock).startswith(b"HTTP/1.1 400 "), raw
    assert healthy(server)


def test_beyond_the_concurrency_limit_new_requests_get_503(server: ServerProcess) -> None:
    held = [socket.create_connection(("127.0.0.1", server.port), timeout=10) for _ in range(45)]
    try:
        # Every slot is taken by an idle connection: a new request is refused at once...
        response = httpx.get(f"{server.url}/healthz", timeout=5)
        assert response.status_code == 503
    finally:
        for sock in held:
            sock.close()
    # ... and served again as soon as the connections are gone (polled, not slept).
    deadline = time.monotonic() + 10
    while httpx.get(f"{server.url}/healthz", timeout=5).status_code != 200:
        assert time.monotonic() < deadline


def test_the_server_is_still_well(server: ServerProcess) -> None:
    log = server.log()
    assert "Traceback" not in log
    assert '"level": "ERROR"' not in log
