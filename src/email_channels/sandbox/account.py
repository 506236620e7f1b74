"""The emulated AWS account: region, id, quotas, ARNs and the errors every operation shares."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass
from typing import Any

from email_channels.sandbox.errors import SesError

JsonObject = dict[str, Any]

_LOWER_ALNUM = string.ascii_lowercase + string.digits


@dataclass(frozen=True, slots=True)
class Quotas:
    """Account limits; past them a create answers LimitExceededException, as SES does."""

    max_tenants: int = 10_000
    max_email_identities: int = 10_000


@dataclass(frozen=True, slots=True)
class Account:
    region: str
    account_id: str
    quotas: Quotas = Quotas()

    def tenant_arn(self, tenant_name: str, tenant_id: str) -> str:
        """The ARN SES gives a tenant."""
        return f"arn:aws:ses:{self.region}:{self.account_id}:tenant/{tenant_name}/{tenant_id}"

    def identity_arn(self, email_identity: str) -> str:
        """The ARN SES gives an email identity."""
        return f"arn:aws:ses:{self.region}:{self.account_id}:identity/{email_identity}"

    @property
    def signing_hosted_zone(self) -> str:
        """The Easy DKIM zone the CNAME records point into."""
        # us-east-1 uses the historical global zone; the emulator gives every other region its
        # own zone so that callers notice if they hard-code the us-east-1 value.
        if self.region == "us-east-1":
            return "dkim.amazonses.com"
        return f"dkim.{self.region}.amazonses.com"


def random_lower_alnum(length: int) -> str:
    """Random lowercase letters and digits, the alphabet of tenant ids and DKIM tokens.

    Uniform, from one read of the system's randomness: `secrets.choice` per character read
    it once per character, 96 system calls for an identity's three tokens (5 % of the
    emulator's CPU in the bench's S6, py-spy).
    """
    alphabet = len(_LOWER_ALNUM)
    below = 256 - 256 % alphabet  # bytes from here up would favour the first characters
    chosen: list[str] = []
    while len(chosen) < length:
        draw = secrets.token_bytes(2 * length)
        chosen += (_LOWER_ALNUM[byte % alphabet] for byte in draw if byte < below)
    return "".join(chosen[:length])


def not_found(message: str) -> SesError:
    """The NotFoundException SES answers for a missing resource."""
    return SesError("NotFoundException", message)


def already_exists(message: str) -> SesError:
    """The AlreadyExistsException SES answers for a duplicate resource."""
    return SesError("AlreadyExistsException", message)


def limit_exceeded(message: str) -> SesError:
    """The LimitExceededException SES answers when a quota is used up."""
    return SesError("LimitExceededException", message)
