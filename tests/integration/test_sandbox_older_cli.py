"""An older AWS CLI against the emulator: the routes older botocore releases send still work.

AWS CLI v1 1.42.40 (September 2025, botocore 1.40.40) sends ListEmailIdentities as
`GET /v2/email/identities`, before botocore moved it to `POST /v2/email/list-identities`.
It is installed once into its own virtual environment under `.cache/`, from the package index.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.fixtures_api import IN_CI
from tests.support.sandbox import DUMMY_CREDENTIALS, SandboxThread

AWSCLI_VERSION = "1.42.40"
VENV = Path(__file__).resolve().parents[2] / ".cache" / f"awscli-{AWSCLI_VERSION}"


@pytest.fixture(scope="session")
def older_aws_cli() -> Path:
    """The `aws` program of AWS CLI v1 AWSCLI_VERSION, installed on first use."""
    aws = VENV / "bin" / "aws"
    if not aws.exists():
        try:
            subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True, timeout=120)
            subprocess.run(
                [
                    str(VENV / "bin" / "pip"),
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    f"awscli=={AWSCLI_VERSION}",
                ],
                check=True,
                timeout=600,
                capture_output=True,
            )
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as error:
            if IN_CI:
                raise
            pytest.skip(f"awscli {AWSCLI_VERSION} could not be installed: {error}")
    return aws


def _aws(aws: Path, sandbox: SandboxThread, *arguments: str) -> dict[str, object]:
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": str(VENV),
        "AWS_ACCESS_KEY_ID": DUMMY_CREDENTIALS["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": DUMMY_CREDENTIALS["aws_secret_access_key"],
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    finished = subprocess.run(
        [str(aws), *arguments, "--endpoint-url", sandbox.endpoint_url, "--output", "json"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert finished.returncode == 0, finished.stderr
    result: dict[str, object] = json.loads(finished.stdout)
    return result


def test_an_older_aws_cli_lists_the_emulators_identities(
    older_aws_cli: Path, sandbox: SandboxThread
) -> None:
    ses = sandbox.boto3_client()
    ses.create_email_identity(EmailIdentity="first.example.com")
    ses.create_email_identity(EmailIdentity="second.example.com")
    listed = _aws(older_aws_cli, sandbox, "sesv2", "list-email-identities", "--region", "us-east-1")
    names = [item["IdentityName"] for item in listed["EmailIdentities"]]  # type: ignore[attr-defined]
    assert names == ["first.example.com", "second.example.com"]


def test_the_older_route_pages_by_its_query_string(
    older_aws_cli: Path, sandbox: SandboxThread
) -> None:
    ses = sandbox.boto3_client()
    for index in range(3):
        ses.create_email_identity(EmailIdentity=f"page{index}.example.com")
    # That release has no paginator for it: PageSize and NextToken go in the query string.
    names: list[str] = []
    token: list[str] = []
    for _ in range(3):
        page = _aws(
            older_aws_cli,
            sandbox,
            "sesv2",
            "list-email-identities",
            "--region",
            "us-east-1",
            "--page-size",
            "2",
            *token,
        )
        names += [item["IdentityName"] for item in page["EmailIdentities"]]  # type: ignore[attr-defined]
        if "NextToken" not in page:
            break
        token = ["--next-token", str(page["NextToken"])]
    assert names == [f"page{index}.example.com" for index in range(3)]
    assert token  # it took two pages


def test_an_older_aws_cli_sees_only_its_regions_identities(
    older_aws_cli: Path, sandbox: SandboxThread
) -> None:
    sandbox.boto3_client(region="eu-west-1").create_email_identity(EmailIdentity="west.example.com")
    east = _aws(older_aws_cli, sandbox, "sesv2", "list-email-identities", "--region", "us-east-1")
    west = _aws(older_aws_cli, sandbox, "sesv2", "list-email-identities", "--region", "eu-west-1")
    assert east["EmailIdentities"] == []
    assert [item["IdentityName"] for item in west["EmailIdentities"]] == ["west.example.com"]  # type: ignore[attr-defined]
