"""The metrics HTTP server, in the engine's event loop: ``/metrics``, ``/healthz``, ``/readyz``.

It runs in the loop that runs the engine, so a scrape reads the engine's state between two
market events, never while one is half handled; a scrape costs the loop a few milliseconds.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

log = logging.getLogger("tradeplane.metrics")


class MetricsHttpServer:
    """Serves ``registry`` and the probes on ``host:port`` (port 0: a free one, see ``port``).

    ``not_ready`` names what keeps the engine from being ready (``readiness.not_ready``).
    """

    def __init__(
        self,
        registry: CollectorRegistry,
        not_ready: Callable[[], dict[str, str]],
        *,
        host: str,
        port: int,
    ) -> None:
        self._registry = registry
        self._not_ready = not_ready
        self._host = host
        self._port = port
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:9464`` (the bound port once started)."""
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"http://{host}:{self.port}"

    async def start(self) -> None:
        """Bind and serve; raises OSError when the address cannot be bound."""
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=1.0)
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port, reuse_address=False)
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        log.info("metrics on %s/metrics", self.url)

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _metrics(self, request: web.Request) -> web.Response:
        body = generate_latest(self._registry)
        return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _readyz(self, request: web.Request) -> web.Response:
        problems = self._not_ready()
        body = json.dumps({"ready": not problems, "not_ready": problems}, sort_keys=True)
        return web.Response(status=503 if problems else 200, text=body, content_type="application/json")
