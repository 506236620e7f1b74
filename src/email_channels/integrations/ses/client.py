"""SES v2 through aiobotocore: the production adapter, used against AWS and the sandbox alike."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any, TypeVar

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from aiohttp import ClientConnectorError
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ProxyConnectionError,
    ReadTimeoutError,
)

from email_channels import __version__
from email_channels.errors import (
    Conflict,
    FieldError,
    InvalidInput,
    UpstreamTimeout,
    UpstreamUnavailable,
    UpstreamUnreachable,
)
from email_channels.integrations.ses import (
    TAG_SETUP_ID,
    DomainIdentity,
    IdentityStatus,
    Pace,
    Reputation,
    Tags,
    Tenant,
    mark_applied,
    policy_arn,
    policy_name,
)
from email_channels.observability.metrics import count_ses_call

logger = logging.getLogger(__name__)

T = TypeVar("T")

MAX_ATTEMPTS = 4
BACKOFF_BASE = 0.05  # seconds; attempt n waits up to base * 2**n, jittered
BACKOFF_CAP = 1.0

THROTTLING_CODES = frozenset({"TooManyRequestsException", "ThrottlingException", "Throttling"})
# An account quota (tenants, identities): no retry helps; an operator must raise it.
QUOTA_CODE = "LimitExceededException"
PAGE_SIZE = 100
# A tenant's reputation entity is a resource entity referenced by the tenant's ARN.
ENTITY_TYPE = "RESOURCE"
# Sent as the User-Agent of every SES call. Given, it also spares botocore building its own
# from a dozen sanitised components, which it does twice per call: 9 % of the API process's
# CPU in the bench's S6 (py-spy), where four SES calls make a create.
USER_AGENT = f"email-channels/{__version__}"

# Which request field an SES BadRequest is about, per operation: the 422 names it.
_FIELD_OF = {
    "CreateTenant": "tenant_name",
    "CreateEmailIdentity": "domain_identity",
    "PutEmailIdentityMailFromAttributes": "domain_identity",
    "UpdateReputationEntityPolicy": "reputation_policy",
}
# What an AlreadyExists of a create is about, in the client's words.
_EXISTING = {
    "CreateTenant": "a tenant with this name",
    "CreateEmailIdentity": "an identity for this domain",
    "CreateTenantResourceAssociation": "this association",
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


def _not_sent(error: Exception) -> bool:
    """The attempt cannot have reached SES: refused or failed before the request was sent."""
    if isinstance(error, ClientError):
        return _code_and_status(error)[1] < 500  # a 4xx is a refusal: nothing applied
    if isinstance(error, (ConnectTimeoutError, ProxyConnectionError)):
        return True
    if isinstance(error, EndpointConnectionError):
        # aiobotocore also reports a reset after sending as EndpointConnectionError; only a
        # failed connect or name lookup proves the request never left.
        cause = error.kwargs.get("error")
        return isinstance(cause, (ClientConnectorError, socket.gaierror))
    return False


class SesNotFound(Exception):
    """The SES resource does not exist (internal: deletes treat it as done)."""


class _AppliedEarlier(Exception):
    """AlreadyExists on a retry: the earlier attempt was applied, only its answer was lost."""


def _translate(operation: str, error: Exception, *, missing_ok: bool) -> Exception:
    """Map a botocore failure of the last attempt to the error the client should see.

    The words are ours: SES messages carry ARNs, account ids and endpoints, which stay in
    the log (with the request id) and out of answers.
    """
    if isinstance(error, (ReadTimeoutError, ConnectTimeoutError, TimeoutError)):
        return UpstreamTimeout(f"Amazon SES did not answer {operation} in time.")
    if isinstance(error, EndpointConnectionError):
        return UpstreamUnreachable(f"Amazon SES could not be reached for {operation}.")
    if isinstance(error, ClientError):
        code, status = _code_and_status(error)
        if code == "NotFoundException":
            if missing_ok:
                return SesNotFound(operation)
            return UpstreamUnavailable(f"Amazon SES failed {operation}: a resource is missing.")
        if code == "AlreadyExistsException":
            existing = _EXISTING.get(operation, "this resource")
            return Conflict(f"Amazon SES already has {existing}.")
        if code == "BadRequestException":
            field = _FIELD_OF.get(operation, "body")
            return InvalidInput(
                f"Amazon SES rejected {operation}.",
                errors=[FieldError(field=field, message="Amazon SES rejected this value.")],
            )
        if code == QUOTA_CODE:
            return UpstreamUnavailable(
                f"Amazon SES refused {operation}: the SES account has reached a quota "
                "(tenants or identities). An operator must raise it; retrying will not help."
            )
        if status >= 500 or code in THROTTLING_CODES:
            return UpstreamUnavailable(f"Amazon SES failed {operation} ({code or status}).")
        return UpstreamUnavailable(f"Amazon SES refused {operation} ({status}).")
    if isinstance(error, BotoCoreError):
        return UpstreamUnavailable(f"Amazon SES failed {operation}.")
    return error


def _tags(tags: Tags) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def _tag_map(raw: Any) -> dict[str, str]:
    return {str(tag["Key"]): str(tag.get("Value", "")) for tag in raw or ()}


# The key of botocore's own data file `endpoints.json` in its loader's per-instance cache.
_ENDPOINT_TABLE = ("load_data_with_path", "endpoints")


def _forget_endpoint_table(client: Any) -> None:
    """Let go of botocore's endpoint table (every AWS service in every region) once the client
    is built.

    botocore reads that 1.2 MB JSON file to build a client (its endpoint and signing region)
    and its loader, which the client keeps for paginators and waiters, caches it for good:
    6.7 MB of Python objects in a process, a third of what the lifespan allocates, that
    nothing reads again (requests resolve their endpoint from the service's own rule set).
    Dropped, it is read again only if the same loader builds another client. Without the
    attributes (another botocore), nothing is dropped.
    """
    cache = getattr(getattr(client, "_loader", None), "_cache", None)
    if isinstance(cache, dict):
        cache.pop(_ENDPOINT_TABLE, None)


# The SES operations this adapter calls (each through `AioBotocoreSes._call`, by this name).
OPERATIONS = frozenset(
    {
        "CreateTenant",
        "GetTenant",
        "DeleteTenant",
        "ListTenants",
        "CreateEmailIdentity",
        "GetEmailIdentity",
        "DeleteEmailIdentity",
        "ListEmailIdentities",
        "PutEmailIdentityMailFromAttributes",
        "CreateTenantResourceAssociation",
        "DeleteTenantResourceAssociation",
        "GetReputationEntity",
        "UpdateReputationEntityCustomerManagedStatus",
        "UpdateReputationEntityPolicy",
    }
)


def _keep_used_operations(client: Any) -> None:
    """Shrink the client's service model to `OPERATIONS`, what their shapes reach, and every
    error shape; without the documentation.

    The `sesv2` model describes 116 operations and 618 shapes, with their documentation: 1.2
    MB of Python objects (23,000) that the client keeps for the life of the process, for the
    11 operations and 89 shapes used here. Trimmed in place (the loader's cache holds the same
    dict) once the client class is built; the error shapes stay whole, so every error SES
    answers is still parsed by its code. Without the attributes (another botocore), nothing
    is trimmed.
    """
    model = getattr(getattr(client, "meta", None), "service_model", None)
    description = getattr(model, "_service_description", None)
    if not isinstance(description, dict) or "shape_names" in vars(model):
        return  # a list of every shape's name is cached already: leave the model whole
    operations, shapes = description.get("operations"), description.get("shapes")
    if not isinstance(operations, dict) or not isinstance(shapes, dict):
        return
    if not operations.keys() >= OPERATIONS:
        return  # an older model: better whole than missing what is called
    wanted = [name for name, shape in shapes.items() if shape.get("exception")]
    for name in OPERATIONS:
        operation = operations[name]
        refs = [operation.get("input"), operation.get("output"), *operation.get("errors", ())]
        wanted += [ref["shape"] for ref in refs if ref]
    kept: set[str] = set()
    while wanted:
        name = wanted.pop()
        if name in kept or name not in shapes:
            continue
        kept.add(name)
        shape = shapes[name]
        refs = [*shape.get("members", {}).values()]
        refs += [shape[key] for key in ("member", "key", "value") if key in shape]
        wanted += [ref["shape"] for ref in refs]
    for name in operations.keys() - OPERATIONS:
        del operations[name]
    for name in shapes.keys() - kept:
        del shapes[name]
    for entry in (description, *operations.values(), *shapes.values()):
        entry.pop("documentation", None)
        for ref in entry.get("members", {}).values():
            ref.pop("documentation", None)


class AioBotocoreSes:
    """The `SesGateway` of one region on aiobotocore, opened by `AioBotocoreRegions`."""

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
            user_agent=USER_AGENT,
            # The calls are built here from validated input, and SES validates them again; the
            # client's own pass over each request's parameters would be a third.
            parameter_validation=False,
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
        _forget_endpoint_table(self._client)
        _keep_used_operations(self._client)

    async def close(self) -> None:
        await self._stack.aclose()

    @count_ses_call  # email_channels_ses_calls_total: one outcome per operation
    async def _call(
        self, operation: str, call: Callable[[], Awaitable[T]], *, missing_ok: bool = False
    ) -> T:
        """Run one SES operation with retries, all under one deadline.

        The answer follows the last attempt: a 5xx or throttling answer is a 502 even when the
        deadline then leaves no time for another try; no answer before the deadline is a 504.
        Whether SES may have applied the operation follows every attempt: one attempt that may
        have reached it is enough (`maybe_applied` on the raised error).
        `missing_ok`: NotFound is an answer (raised as SesNotFound), not a failure.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        maybe = False
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                async with asyncio.timeout_at(deadline):
                    return await call()
            except TimeoutError as error:
                logger.warning("SES %s: no answer before the deadline", operation)
                failure = UpstreamTimeout(f"Amazon SES did not answer {operation} in time.")
                mark_applied(failure, maybe=True)
                raise failure from error
            except (BotoCoreError, ClientError) as error:
                already = (
                    isinstance(error, ClientError)
                    and _code_and_status(error)[0] == "AlreadyExistsException"
                )
                if already and attempt > 1 and maybe:
                    raise _AppliedEarlier(operation) from error
                maybe = maybe or not _not_sent(error)
                translated = _translate(operation, error, missing_ok=missing_ok)
                backoff = random.uniform(0, min(BACKOFF_CAP, BACKOFF_BASE * 2**attempt))
                if (
                    not _retryable(error, missing_ok=missing_ok)
                    or attempt == MAX_ATTEMPTS
                    or loop.time() + backoff >= deadline
                ):
                    if not isinstance(translated, SesNotFound):
                        logger.warning("SES %s failed: %r", operation, error)
                    mark_applied(translated, maybe=maybe)
                    raise translated from error
                logger.info("SES %s attempt %d failed, retrying: %r", operation, attempt, error)
            await asyncio.sleep(backoff)
        raise AssertionError("unreachable")  # the loop always returns or raises

    async def create_tenant(self, tenant_name: str, *, tags: Tags) -> Tenant:
        try:
            response = await self._call(
                "CreateTenant",
                lambda: self._client.create_tenant(TenantName=tenant_name, Tags=_tags(tags)),
            )
        except _AppliedEarlier:
            found = await self._call(
                "GetTenant", lambda: self._client.get_tenant(TenantName=tenant_name)
            )
            response = found["Tenant"]
            _check_ours(response.get("Tags"), tags, operation="CreateTenant")
        return Tenant(name=response["TenantName"], arn=response["TenantArn"])

    async def create_domain_identity(self, domain: str, *, tags: Tags) -> DomainIdentity:
        try:
            response = await self._call(
                "CreateEmailIdentity",
                lambda: self._client.create_email_identity(
                    EmailIdentity=domain,
                    DkimSigningAttributes={"NextSigningKeyLength": "RSA_2048_BIT"},
                    Tags=_tags(tags),
                ),
            )
        except _AppliedEarlier:
            response = await self._call(
                "GetEmailIdentity", lambda: self._client.get_email_identity(EmailIdentity=domain)
            )
            _check_ours(response.get("Tags"), tags, operation="CreateEmailIdentity")
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

    # GetTenant and GetEmailIdentity answer existence and tags in one call, and need no ARN
    # (no identity operation returns an identity's ARN).
    async def tenant_tags(self, tenant_name: str) -> dict[str, str] | None:
        response = await self._get_tenant(tenant_name)
        return None if response is None else _tag_map(response["Tenant"].get("Tags"))

    async def identity_tags(self, domain: str) -> dict[str, str] | None:
        response = await self._get_identity(domain)
        return None if response is None else _tag_map(response.get("Tags"))

    async def get_identity_status(self, domain: str) -> IdentityStatus | None:
        response = await self._get_identity(domain)
        if response is None:
            return None
        return IdentityStatus(
            verified_for_sending=bool(response.get("VerifiedForSendingStatus", False)),
            dkim_status=str(response.get("DkimAttributes", {}).get("Status", "PENDING")),
            mail_from_status=str(
                response.get("MailFromAttributes", {}).get("MailFromDomainStatus", "PENDING")
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

    async def get_reputation(self, tenant_arn: str) -> Reputation | None:
        try:
            response = await self._call(
                "GetReputationEntity",
                lambda: self._client.get_reputation_entity(
                    ReputationEntityType=ENTITY_TYPE, ReputationEntityReference=tenant_arn
                ),
                missing_ok=True,
            )
        except SesNotFound:
            return None
        entity = response.get("ReputationEntity", {})
        customer = entity.get("CustomerManagedStatus") or {}
        ses = entity.get("AwsSesManagedStatus") or {}
        return Reputation(
            customer_status=str(customer.get("Status", "ENABLED")),
            customer_cause=customer.get("Cause"),
            ses_status=str(ses.get("Status", "ENABLED")),
            ses_cause=ses.get("Cause"),
            policy=policy_name(entity.get("ReputationManagementPolicy")),
            impact=entity.get("ReputationImpact"),
        )

    async def set_sending(self, *, tenant_arn: str, enabled: bool) -> None:
        await self._call(
            "UpdateReputationEntityCustomerManagedStatus",
            lambda: self._client.update_reputation_entity_customer_managed_status(
                ReputationEntityType=ENTITY_TYPE,
                ReputationEntityReference=tenant_arn,
                SendingStatus="ENABLED" if enabled else "DISABLED",
            ),
        )

    async def set_reputation_policy(self, *, tenant_arn: str, policy: str) -> None:
        await self._call(
            "UpdateReputationEntityPolicy",
            lambda: self._client.update_reputation_entity_policy(
                ReputationEntityType=ENTITY_TYPE,
                ReputationEntityReference=tenant_arn,
                ReputationEntityPolicy=policy_arn(tenant_arn=tenant_arn, policy=policy),
            ),
        )

    async def tenant_names(self, *, pace: Pace | None = None) -> AsyncIterator[str]:
        async for page in self._pages("ListTenants", self._client.list_tenants, pace=pace):
            for tenant in page.get("Tenants", ()):
                yield str(tenant["TenantName"])

    async def domain_identities(self, *, pace: Pace | None = None) -> AsyncIterator[str]:
        list_call = self._client.list_email_identities
        async for page in self._pages("ListEmailIdentities", list_call, pace=pace):
            for identity in page.get("EmailIdentities", ()):
                if identity.get("IdentityType") == "DOMAIN":
                    yield str(identity["IdentityName"])

    async def _pages(
        self, operation: str, list_call: Callable[..., Awaitable[Any]], *, pace: Pace | None
    ) -> AsyncIterator[Any]:
        token: str | None = None
        while True:
            if pace is not None:
                await pace()
            kwargs: dict[str, Any] = {"PageSize": PAGE_SIZE}
            if token:
                kwargs["NextToken"] = token
            page = await self._call(operation, functools.partial(list_call, **kwargs))
            yield page
            token = page.get("NextToken")
            if not token:
                return

    async def _get_tenant(self, tenant_name: str) -> Any:
        """GetTenant's answer, or None when there is no such tenant."""
        with contextlib.suppress(SesNotFound):
            return await self._call(
                "GetTenant",
                lambda: self._client.get_tenant(TenantName=tenant_name),
                missing_ok=True,
            )
        return None

    async def _get_identity(self, domain: str) -> Any:
        """GetEmailIdentity's answer, or None when there is no such identity."""
        with contextlib.suppress(SesNotFound):
            return await self._call(
                "GetEmailIdentity",
                lambda: self._client.get_email_identity(EmailIdentity=domain),
                missing_ok=True,
            )
        return None

    async def _delete(self, operation: str, call: Callable[[], Awaitable[Any]]) -> None:
        try:
            await self._call(operation, call, missing_ok=True)
        except SesNotFound:
            return  # already gone: a delete is done when the resource is absent


def _check_ours(found: Any, tags: Tags, *, operation: str) -> None:
    """After a lost answer, the resource SES has must be the one this create tagged."""
    if _tag_map(found).get(TAG_SETUP_ID) != tags.get(TAG_SETUP_ID):
        existing = _EXISTING.get(operation, "this resource")
        failure = Conflict(f"Amazon SES already has {existing}.")
        mark_applied(failure, maybe=True)  # ours may exist too: compensate to be sure
        raise failure


class AioBotocoreRegions:
    """One `AioBotocoreSes` per region in use, opened on first use, closed together."""

    def __init__(
        self,
        *,
        timeout: float,
        endpoint_url: str | None = None,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        self._timeout = timeout
        self._endpoint_url = endpoint_url
        self._credentials = credentials
        self._clients: dict[str, AioBotocoreSes] = {}
        self._lock = asyncio.Lock()

    async def region(self, name: str) -> AioBotocoreSes:
        client = self._clients.get(name)
        if client is not None:
            return client
        async with self._lock:
            if name not in self._clients:
                client = AioBotocoreSes(
                    region=name,
                    timeout=self._timeout,
                    endpoint_url=self._endpoint_url,
                    credentials=self._credentials,
                )
                await client.open()
                self._clients[name] = client
            return self._clients[name]

    async def close(self) -> None:
        clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            await client.close()
