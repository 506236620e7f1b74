"""The SES emulator on a background thread, for tests that call it from synchronous code."""

from __future__ import annotations

import asyncio
import functools
import threading
from typing import Any

import boto3
import httpx
from botocore.config import Config

from email_channels.integrations.ses.client import AioBotocoreSes
from email_channels.sandbox.account import Quotas
from email_channels.sandbox.server import EmbeddedSandbox

_START_TIMEOUT_SECONDS = 10.0
DUMMY_CREDENTIALS = {"aws_access_key_id": "AKIDSANDBOX", "aws_secret_access_key": "sandbox"}


class SandboxThread:
    """Runs the emulator with its own event loop on a free loopback port."""

    def __init__(
        self,
        *,
        state_path: str | None = None,
        region: str = "us-east-1",
        quotas: Quotas | None = None,
        # None: the emulator looks nothing up (never the system resolver from a test).
        dns_nameservers: list[tuple[str, int]] | None = None,
    ) -> None:
        self.region = region
        self._sandbox = EmbeddedSandbox(
            host="127.0.0.1",
            port=0,
            state_path=state_path,
            region=region,
            quotas=quotas,
            dns_nameservers=dns_nameservers,
        )
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop_requested: asyncio.Event | None = None
        self._started = threading.Event()
        self._startup_error: BaseException | None = None
        self._http_client: httpx.Client | None = None

    @property
    def endpoint_url(self) -> str:
        """The emulator's base URL."""
        return self._sandbox.endpoint_url

    def start(self) -> SandboxThread:
        """Start serving; returns once the port accepts connections."""
        self._started.clear()
        self._startup_error = None
        self._http_client = httpx.Client(timeout=10.0, trust_env=False)
        self._thread = threading.Thread(target=self._run, name="ses-sandbox", daemon=True)
        self._thread.start()
        if not self._started.wait(_START_TIMEOUT_SECONDS):
            raise RuntimeError("the SES sandbox did not start in time")
        if self._startup_error is not None:
            raise self._startup_error
        return self

    def stop(self) -> None:
        """Stop serving and wait for the thread to end."""
        if self._loop is not None and self._stop_requested is not None:
            self._loop.call_soon_threadsafe(self._stop_requested.set)
        if self._thread is not None:
            self._thread.join(_START_TIMEOUT_SECONDS)
            self._thread = None
        if self._http_client is not None:
            self._http_client.close()
            self._http_client = None

    def reset(self) -> None:
        """Empty the state and forget the faults."""
        self._http.post(f"{self.endpoint_url}/_sandbox/reset").raise_for_status()

    def add_fault(self, **fields: Any) -> dict[str, Any]:
        """Inject a fault (fields as in DESIGN.md); returns it with its defaults filled in."""
        response = self._http.post(f"{self.endpoint_url}/_sandbox/faults", json=fields)
        response.raise_for_status()
        fault: dict[str, Any] = response.json()
        return fault

    def pending_faults(self) -> list[dict[str, Any]]:
        """The faults not yet used up (`GET /_sandbox/faults`, beyond the contract)."""
        response = self._http.get(f"{self.endpoint_url}/_sandbox/faults")
        response.raise_for_status()
        faults: list[dict[str, Any]] = response.json()["faults"]
        return faults

    def clear_faults(self) -> None:
        """Forget every pending fault."""
        self._http.delete(f"{self.endpoint_url}/_sandbox/faults").raise_for_status()

    def state(self, *, region: str | None = None) -> dict[str, Any]:
        """What `GET /_sandbox/state` shows (every region's, or `region`'s)."""
        params = {} if region is None else {"region": region}
        response = self._http.get(f"{self.endpoint_url}/_sandbox/state", params=params)
        response.raise_for_status()
        state: dict[str, Any] = response.json()
        return state

    def set_reputation(self, **fields: Any) -> httpx.Response:
        """`POST /_sandbox/reputation`: SES pausing or reinstating a tenant."""
        return self._http.post(f"{self.endpoint_url}/_sandbox/reputation", json=fields)

    def boto3_client(self, *, region: str | None = None, **config: Any) -> Any:
        """A boto3 sesv2 client for this emulator (signing for `region`, default the
        emulator's); retries off so a fault is seen once."""
        options: dict[str, Any] = {"retries": {"total_max_attempts": 1}}
        options.update(config)
        return _boto3_session().client(
            "sesv2",
            endpoint_url=self.endpoint_url,
            region_name=region or self.region,
            config=Config(**options),
            **DUMMY_CREDENTIALS,
        )

    async def ses_adapter(self) -> AioBotocoreSes:
        """The service's own SES adapter, opened against this emulator (the caller closes it)."""
        ses = AioBotocoreSes(
            region=self.region,
            timeout=5.0,
            endpoint_url=self.endpoint_url,
            credentials=(
                DUMMY_CREDENTIALS["aws_access_key_id"],
                DUMMY_CREDENTIALS["aws_secret_access_key"],
            ),
        )
        await ses.open()
        return ses

    @property
    def _http(self) -> httpx.Client:
        if self._http_client is None:
            raise RuntimeError("the SES sandbox is not running")
        return self._http_client

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop_requested = asyncio.Event()
        try:
            await self._sandbox.start()
        except BaseException as exc:
            self._startup_error = exc
            self._started.set()
            return
        self._started.set()
        await self._stop_requested.wait()
        await self._sandbox.stop()


@functools.cache
def _boto3_session() -> boto3.session.Session:
    # One session for the test run: each new one reloads the service models (about 0.5 s).
    return boto3.session.Session()
