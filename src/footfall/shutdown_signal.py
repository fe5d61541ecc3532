"""Hearing "stop" while responses are still open: for long-lived streams.

When asked to stop (SIGTERM, Ctrl-C), uvicorn stops accepting connections and then waits for
every open response to finish before it runs the app's lifespan shutdown — and only after
`timeout_graceful_shutdown` does it cancel what is left. An app serving event streams, which
never finish by themselves, would therefore hold every stop for that timeout and have its
streams cut by cancellation. ASGI gives an app no earlier notice, so `on_stop_signal` chains
a callback in front of the signal handlers the server installed: streams end at once and
cleanly, and the server's own graceful shutdown then proceeds as usual (the server's handler
still runs, unchanged). The same holds in each worker process of `serve --workers`.

Nothing is installed outside the main thread (signals are delivered there only), nor for a
signal without a Python handler (then no server is waiting on it).
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def on_stop_signal(callback: Callable[[], None]) -> Callable[[], None]:
    """Run `callback` on this event loop when a stop signal arrives, before the handler the
    server installed; returns a function that removes the hook again."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    loop = asyncio.get_running_loop()
    installed: dict[int, tuple[Callable[..., Any], Callable[..., Any]]] = {}
    for sig in STOP_SIGNALS:
        previous = signal.getsignal(sig)
        if not callable(previous):
            continue

        def handler(
            signum: int, frame: FrameType | None, previous: Callable[..., Any] = previous
        ) -> None:
            loop.call_soon_threadsafe(callback)
            previous(signum, frame)

        signal.signal(sig, handler)
        installed[sig] = (handler, previous)

    def remove() -> None:
        for sig, (handler, previous) in installed.items():
            if signal.getsignal(sig) is handler:  # not replaced since: put the old one back
                signal.signal(sig, previous)

    return remove
