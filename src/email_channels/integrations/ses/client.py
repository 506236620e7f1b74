"""SES v2 through aiobotocore: the production adapter, used against AWS and the sandbox alike."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any, TypeVar

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from email_channels.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    UpstreamTimeout,
    UpstreamUnavailable,
    UpstreamUnreachable,
)
from email_channels.integrations.ses import DomainIdentity, Tenant
from email_channels.observability.metrics import count_ses_call

logger = logging.getLogger(__name__)

T = TypeVar("T")

MAX_ATTEMPTS = 4
BACKOFF_BASE = 0.05  # seconds; attempt n waits up to base * 2**n, jittered
BACKOFF_CAP = 1.0

THROTTLING_CODES = frozenset(
    {"TooManyRequestsException", "ThrottlingException", "Throttling", "LimitExceededException"}
)


# Which request field an SES BadRequest is about, per operation: the 422 names it.
_FIELD_OF = {
    "CreateTenant": "tenant_name",
    "CreateEmailIdentity": "domain_identity",
    "PutEmailIdentityMailFromAttributes": "domain_identity",
}


def _code_and_status(error: ClientError) -> tuple[str, int]:
    code = str(error.response.get("Error", {}).get("Code", ""))
    status = int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return code, status


def _retryable(error: Exception, *, missing_ok: bool) -> bool:
    """Worth another attempt: throttling, a 5xx, a failed connection, and (where a missing
    resource is not the expected answer) NotFound, which SES gives while a resource it has
    just created is not visible everywhere yet."""
    if isinstance(error, ClientError):
        code, status = _code_and_status(error)
        return (
            status >= 500
            or code in THROTTLING_CODES
            or (code == "NotFoundException" and not missing_ok)
        )
    return isinstance(error, (EndpointConnectionError, ReadTimeoutError, ConnectTimeoutError))


class SesNotFound(Exception):
    """The SES resource does not exist (internal: deletes treat it as done)."""


class _AppliedEarlier(Exception):
    """AlreadyExists on a retry: the earlier attempt was applied, only its answer was lost."""


def _translate(operation: str, error: Exception, *, missing_ok: bool) -> Exception:
    """Map a botocore failure of the last attempt to the error the client should see."""
    if isinstance(error, (ReadTimeoutError, ConnectTimeoutError, TimeoutError)):
        return UpstreamTimeout(f"Amazon SES did not answer {operation} in time.")
    if isinstance(error, EndpointConnectionError):
        return UpstreamUnreachable(f"Amazon SES could not be reached for {operation}.")
    if isinstance(error, ClientError):
        code, status = _code_and_status(error)
        message = str(error.response.get("Error", {}).get("Message", "")) or code
        if code == "NotFoundException":
            if missing_ok:
                return SesNotFound(message)
            return UpstreamUnavailable(f"Amazon SES failed {operation}: {message}")
        if code == "AlreadyExistsException":
            return Conflict(f"Amazon SES already has this resource: {message}")
        if code == "BadRequestException":
            field = _FIELD_OF.get(operation, "body")
            return InvalidInput(
                f"Amazon SES rejected {operation}: {message}",
                errors=[FieldError(field=field, message=f"Amazon SES rejected it: {message}")],
            )
        if status >= 500 or code in THROTTLING_CODES:
            return UpstreamUnavailable(f"Amazon SES failed {operation}: {code or status}.")
        return UpstreamUnavailable(f"Amazon SES refused {operation}: {code} ({status}).")
    if isinstance(error, BotoCoreError):
        return UpstreamUnavailable(f"Amazon SES failed {operation}: {error}.")
    return error


class AioBotocoreSes:
    """The `SesGateway` on aiobotocore, one client per process, opened in the app's lifespan."""

    def __init__(
        self,
        *,
        region: str,
        timeout: float,
        endpoint_url: str | None = None,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self._region = region
        self._timeout = timeout
        self._endpoint_url = endpoint_url
        self._credentials = credentials
        self._stack = AsyncExitStack()
        self._client: Any = None

    async def open(self) -> None:
        """Create the client (no network traffic yet)."""
        config = AioConfig(
            connect_timeout=min(self._timeout, 5.0),
            read_timeout=self._timeout,
            # Retries are ours (see `_call`), so that they share the operation's deadline.
            retries={"total_max_attempts": 1, "mode": "standard"},
            max_pool_connections=50,
        )
        kwargs: dict[str, Any] = {"region_name": self._region, "config": config}
        if self._endpoint_url:
            kwargs["endpoint_url"] = self._endpoint_url
        if self._credentials:
            kwargs["aws_access_key_id"], kwargs["aws_secret_access_key"] = self._credentials
        session = get_session()
        self._client = await self._stack.enter_async_context(
            session.create_client("sesv2", **kwargs)
        )

    async def close(self) -> None:
        await self._stack.aclose()

    @count_ses_call  # email_channels_ses_calls_total: one outcome per operation
    async def _call(
        self, operation: str, call: Callable[[], Awaitable[T]], *, missing_ok: bool = False
    ) -> T:
        """Run one SES operation with retries, all under one deadline.

        The answer follows the last attempt: a 5xx or throttling answer is a 502 even when the
        deadline then leaves no time for another try; no answer before the deadline is a 504.
        `missing_ok`: NotFound is an answer (raised as SesNotFound), not a failure.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                async with asyncio.timeout_at(deadline):
                    return await call()
            except TimeoutError as error:
                logger.warning("SES %s: no answer before the deadline", operation)
                raise UpstreamTimeout(f"Amazon SES did not answer {operation} in time.") from error
            except (BotoCoreError, ClientError) as error:
                already = (
                    isinstance(error, ClientError)
                    and _code_and_status(error)[0] == "AlreadyExistsException"
                )
                if already and attempt > 1:
                    raise _AppliedEarlier(operation) from error
                translated = _translate(operation, error, missing_ok=missing_ok)
                backoff = random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))
                if (
                    not _retryable(error, missing_ok=missing_ok)
                    or attempt == MAX_ATTEMPTS
                    or loop.time() + backoff >= deadline
                ):
                    if not isinstance(translated, SesNotFound):
                        logger.warning("SES %s failed: %r", operation, error)
                    raise translated from error
            await asyncio.sleep(backoff)
        raise AssertionError("unreachable")  # the loop always returns or raises

    async def create_tenant(self, tenant_name: str) -> Tenant:
        try:
            response = await self._call(
                "CreateTenant", lambda: self._client.create_tenant(TenantName=tenant_name)
            )
        except _AppliedEarlier:
            found = await self._call(
                "GetTenant", lambda: self._client.get_tenant(TenantName=tenant_name)
            )
            response = found["Tenant"]
        return Tenant(name=response["TenantName"], arn=response["TenantArn"])

    async def create_domain_identity(self, domain: str) -> DomainIdentity:
        try:
            response = await self._call(
                "CreateEmailIdentity",
                lambda: self._client.create_email_identity(
                    EmailIdentity=domain,
                    DkimSigningAttributes={"NextSigningKeyLength": "RSA_2048_BIT"},
                ),
            )
        except _AppliedEarlier:
            response = await self._call(
                "GetEmailIdentity", lambda: self._client.get_email_identity(EmailIdentity=domain)
            )
        dkim = response.get("DkimAttributes", {})
        tokens = tuple(dkim.get("Tokens", ()))
        zone = dkim.get("SigningHostedZone")
        if not tokens or not zone:
            raise UpstreamUnavailable("Amazon SES returned no Easy DKIM tokens for the domain.")
        return DomainIdentity(domain=domain, dkim_tokens=tokens, signing_hosted_zone=zone)

    async def put_mail_from(self, *, domain: str, mail_from_domain: str) -> None:
        await self._call(
            "PutEmailIdentityMailFromAttributes",
            lambda: self._client.put_email_identity_mail_from_attributes(
                EmailIdentity=domain,
                MailFromDomain=mail_from_domain,
                BehaviorOnMxFailure="USE_DEFAULT_VALUE",
            ),
        )

    async def associate(self, *, tenant_name: str, resource_arn: str) -> None:
        with contextlib.suppress(_AppliedEarlier):
            await self._call(
                "CreateTenantResourceAssociation",
                lambda: self._client.create_tenant_resource_association(
                    TenantName=tenant_name, ResourceArn=resource_arn
                ),
            )

    async def disassociate(self, *, tenant_name: str, resource_arn: str) -> None:
        await self._delete(
            "DeleteTenantResourceAssociation",
            lambda: self._client.delete_tenant_resource_association(
                TenantName=tenant_name, ResourceArn=resource_arn
            ),
        )

    async def delete_domain_identity(self, domain: str) -> None:
        await self._delete(
            "DeleteEmailIdentity", lambda: self._client.delete_email_identity(EmailIdentity=domain)
        )

    async def delete_tenant(self, tenant_name: str) -> None:
        await self._delete(
            "DeleteTenant", lambda: self._client.delete_tenant(TenantName=tenant_name)
        )

    async def _delete(self, operation: str, call: Callable[[], Awaitable[Any]]) -> None:
        try:
            await self._call(operation, call, missing_ok=True)
        except SesNotFound:
            return  # already gone: a delete is done when the resource is absent
