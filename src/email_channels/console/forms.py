"""The console's forms: read by hand, checked by the API's own models and messages."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError

from email_channels.console.flash import Flash
from email_channels.errors import AppError, Conflict
from email_channels.problems import validation_errors
from email_channels.ses_setups.schemas import SesSetupCreate

CREATE_FIELDS = ("tenant_name", "domain_identity", "dns_mode")
OPTIONAL_FIELDS = ("region",)  # sent only when the page offers a choice
DELEGATED = "delegated"
# Where "Sign in" may send a person back to: a console page of this site, nothing else.
_NEXT_PATH = re.compile(r"/console(/[A-Za-z0-9_-]+)*")


async def form_values(request: Request) -> dict[str, str]:
    """The submitted form's text fields (a repeated field keeps its first value)."""
    form = await request.form()
    values: dict[str, str] = {}
    for name, value in form.multi_items():
        if isinstance(value, str):
            values.setdefault(name, value)
    return values


def safe_next_path(value: str | None) -> str:
    """`value` if it is a console path, else the console's home (no open redirect)."""
    if value and _NEXT_PATH.fullmatch(value):
        return value
    return "/console"


@dataclass
class CreateForm:
    """What was typed into "New SES setup", and what is wrong with it."""

    values: dict[str, str]
    errors: dict[str, str] = field(default_factory=dict)
    form_error: str | None = None

    @classmethod
    def empty(cls) -> CreateForm:
        return cls(values=dict.fromkeys(CREATE_FIELDS, ""))

    @classmethod
    def submitted(cls, values: dict[str, str]) -> CreateForm:
        typed = {name: values.get(name, "") for name in CREATE_FIELDS}
        typed.update({name: values[name] for name in OPTIONAL_FIELDS if values.get(name)})
        return cls(values=typed)

    @classmethod
    def flashed(cls, flash: Flash, *, delegation_offered: bool = False) -> CreateForm:
        """The form as the last try left it (typed values, messages), or empty (delegation
        chosen where the deployment offers it: it is the recommended way)."""
        if not flash.values and delegation_offered:
            return cls(values={**dict.fromkeys(CREATE_FIELDS, ""), "dns_mode": DELEGATED})
        form = cls.submitted(flash.values)
        return cls(values=form.values, errors=dict(flash.field_errors), form_error=flash.error)

    def flash(self) -> Flash:
        """What the redirect back to the form carries."""
        return Flash(values=self.values, field_errors=self.errors, error=self.form_error)

    def parse(self) -> SesSetupCreate | None:
        """The API's create request, or None with `errors` set (the API's messages)."""
        # A checkbox: ticked sends "delegated", unticked sends nothing.
        dns_mode = DELEGATED if self.values.get("dns_mode") == DELEGATED else "customer"
        try:
            return SesSetupCreate(**{**self.values, "dns_mode": dns_mode})
        except ValidationError as error:
            # The same conversion as the API's 422, so a person reads what a client reads.
            for problem in validation_errors(RequestValidationError(error.errors())):
                self.errors.setdefault(problem.field, problem.message)
            return None

    def refused(self, error: AppError) -> None:
        """Show why the service refused the create: by the field it concerns when it is clear."""
        region = [problem.message for problem in error.errors if problem.field == "region"]
        if region:
            self.errors["region"] = f"{error.detail} {region[0]}"
        elif isinstance(error, Conflict) and "tenant name" in error.detail:
            self.errors["tenant_name"] = error.detail
        elif isinstance(error, Conflict) and "domain" in error.detail:
            self.errors["domain_identity"] = error.detail
        else:
            self.form_error = error.detail
