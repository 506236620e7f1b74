"""Tags on emulated tenants and identities through boto3: TagResource, UntagResource, List."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.support.sandbox import SandboxThread

ACCOUNT = "arn:aws:ses:us-east-1:000000000000"
IDENTITY_ARN = f"{ACCOUNT}:identity/example.com"


@pytest.fixture
def ses(sandbox: SandboxThread) -> Any:
    return sandbox.boto3_client()


def create_tenant(ses: Any) -> str:
    arn: str = ses.create_tenant(TenantName="acme", Tags=[{"Key": "team", "Value": "mail"}])[
        "TenantArn"
    ]
    return arn


def create_identity(ses: Any) -> str:
    ses.create_email_identity(EmailIdentity="example.com", Tags=[{"Key": "team", "Value": "mail"}])
    return IDENTITY_ARN


@pytest.fixture(params=[create_tenant, create_identity], ids=["tenant", "identity"])
def resource_arn(request: pytest.FixtureRequest, ses: Any) -> str:
    create: Callable[[Any], str] = request.param
    return create(ses)


def tags_of(ses: Any, arn: str) -> dict[str, str]:
    tags = ses.list_tags_for_resource(ResourceArn=arn)["Tags"]
    return {tag["Key"]: tag["Value"] for tag in tags}


def error_code(info: pytest.ExceptionInfo[ClientError]) -> str:
    code: str = info.value.response["Error"]["Code"]
    return code


def test_tags_are_added_overwritten_and_removed(ses: Any, resource_arn: str) -> None:
    assert tags_of(ses, resource_arn) == {"team": "mail"}

    ses.tag_resource(
        ResourceArn=resource_arn,
        Tags=[{"Key": "team", "Value": "billing"}, {"Key": "env", "Value": "test"}],
    )
    assert ses.list_tags_for_resource(ResourceArn=resource_arn)["Tags"] == [
        {"Key": "team", "Value": "billing"},
        {"Key": "env", "Value": "test"},
    ]

    ses.tag_resource(ResourceArn=resource_arn, Tags=[{"Key": "owner", "Value": ""}])
    # Several keys travel as a repeated query parameter: ?TagKeys=team&TagKeys=owner.
    ses.untag_resource(ResourceArn=resource_arn, TagKeys=["team", "owner", "never-set"])
    assert tags_of(ses, resource_arn) == {"env": "test"}


def test_get_operations_show_the_changed_tags(ses: Any) -> None:
    tenant_arn = create_tenant(ses)
    create_identity(ses)
    for arn in (tenant_arn, IDENTITY_ARN):
        ses.tag_resource(ResourceArn=arn, Tags=[{"Key": "env", "Value": "test"}])

    expected = [{"Key": "team", "Value": "mail"}, {"Key": "env", "Value": "test"}]
    assert ses.get_tenant(TenantName="acme")["Tenant"]["Tags"] == expected
    assert ses.get_email_identity(EmailIdentity="example.com")["Tags"] == expected


def test_tags_of_an_email_address_identity(ses: Any) -> None:
    ses.create_email_identity(EmailIdentity="jane+news@example.com")
    arn = f"{ACCOUNT}:identity/jane+news@example.com"

    ses.tag_resource(ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}])

    assert tags_of(ses, arn) == {"k": "v"}


TAG_CALLS: dict[str, Callable[[Any, str], Any]] = {
    "TagResource": lambda ses, arn: ses.tag_resource(
        ResourceArn=arn, Tags=[{"Key": "k", "Value": "v"}]
    ),
    "UntagResource": lambda ses, arn: ses.untag_resource(ResourceArn=arn, TagKeys=["k"]),
    "ListTagsForResource": lambda ses, arn: ses.list_tags_for_resource(ResourceArn=arn),
}


@pytest.mark.parametrize("call", TAG_CALLS.values(), ids=TAG_CALLS.keys())
@pytest.mark.parametrize(
    "arn",
    [
        f"{ACCOUNT}:tenant/nobody/tn-aaaaaaaaaaaaaaaaa",
        f"{ACCOUNT}:identity/unknown.example.com",
        "arn:aws:ses:eu-west-1:000000000000:identity/example.com",
        "arn:aws:ses:us-east-1:111111111111:identity/example.com",
    ],
    ids=["tenant", "identity", "other-region", "other-account"],
)
def test_unknown_arn_is_not_found(ses: Any, call: Callable[[Any, str], Any], arn: str) -> None:
    create_identity(ses)  # the other-region and other-account ARNs name this identity

    with pytest.raises(ClientError) as info:
        call(ses, arn)

    assert error_code(info) == "NotFoundException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_arn_of_a_deleted_and_recreated_tenant_is_not_found(ses: Any) -> None:
    old_arn = create_tenant(ses)
    ses.delete_tenant(TenantName="acme")
    new_arn = create_tenant(ses)

    with pytest.raises(ClientError) as info:
        ses.list_tags_for_resource(ResourceArn=old_arn)

    assert error_code(info) == "NotFoundException"
    assert tags_of(ses, new_arn) == {"team": "mail"}


def test_more_than_50_tags_is_bad_request_and_changes_nothing(ses: Any, resource_arn: str) -> None:
    many = [{"Key": f"key-{index}", "Value": "v"} for index in range(49)]
    ses.tag_resource(ResourceArn=resource_arn, Tags=many)  # with "team": 50, the limit
    assert len(tags_of(ses, resource_arn)) == 50

    for extra in ([{"Key": "one-more", "Value": "v"}], [*many, {"Key": "x", "Value": "v"}]):
        with pytest.raises(ClientError) as info:
            ses.tag_resource(ResourceArn=resource_arn, Tags=extra)
        assert error_code(info) == "BadRequestException"
    assert "one-more" not in tags_of(ses, resource_arn)

    # Overwriting an existing key at the limit adds no tag, so it is allowed.
    ses.tag_resource(ResourceArn=resource_arn, Tags=[{"Key": "team", "Value": "new"}])
    assert tags_of(ses, resource_arn)["team"] == "new"


@pytest.mark.parametrize(
    "tag",
    [
        {"Key": "", "Value": "v"},
        {"Key": "k" * 129, "Value": "v"},
        {"Key": "k", "Value": "v" * 257},
    ],
    ids=["empty-key", "long-key", "long-value"],
)
def test_tag_outside_the_length_limits_is_bad_request(
    ses: Any, resource_arn: str, tag: dict[str, str]
) -> None:
    with pytest.raises(ClientError) as info:
        ses.tag_resource(ResourceArn=resource_arn, Tags=[tag])

    assert error_code(info) == "BadRequestException"
    assert tags_of(ses, resource_arn) == {"team": "mail"}


def test_tag_at_the_length_limits_is_accepted(ses: Any, resource_arn: str) -> None:
    tags = [{"Key": "k" * 128, "Value": "v" * 256}, {"Key": "empty", "Value": ""}]

    ses.tag_resource(ResourceArn=resource_arn, Tags=tags)

    assert tags_of(ses, resource_arn) == {"team": "mail", "k" * 128: "v" * 256, "empty": ""}


def test_create_with_more_than_50_tags_is_bad_request(sandbox: SandboxThread, ses: Any) -> None:
    tags = [{"Key": f"key-{index}", "Value": "v"} for index in range(51)]

    with pytest.raises(ClientError) as tenant_info:
        ses.create_tenant(TenantName="acme", Tags=tags)
    with pytest.raises(ClientError) as identity_info:
        ses.create_email_identity(EmailIdentity="example.com", Tags=tags)

    assert error_code(tenant_info) == error_code(identity_info) == "BadRequestException"
    assert sandbox.state() == {"tenants": [], "identities": [], "associations": []}


def test_duplicate_key_in_one_request_is_bad_request(ses: Any, resource_arn: str) -> None:
    tags = [{"Key": "env", "Value": "a"}, {"Key": "env", "Value": "b"}]

    with pytest.raises(ClientError) as info:
        ses.tag_resource(ResourceArn=resource_arn, Tags=tags)

    assert error_code(info) == "BadRequestException"


def test_tags_survive_a_restart_on_the_same_file(tmp_path: Path) -> None:
    state_path = str(tmp_path / "state.json")
    first = SandboxThread(state_path=state_path).start()
    try:
        ses = first.boto3_client()
        tenant_arn = create_tenant(ses)
        create_identity(ses)
        ses.tag_resource(ResourceArn=tenant_arn, Tags=[{"Key": "env", "Value": "test"}])
        ses.untag_resource(ResourceArn=IDENTITY_ARN, TagKeys=["team"])
        ses.tag_resource(ResourceArn=IDENTITY_ARN, Tags=[{"Key": "setup", "Value": "42"}])
    finally:
        first.stop()

    second = SandboxThread(state_path=state_path).start()
    try:
        ses = second.boto3_client()
        assert tags_of(ses, tenant_arn) == {"team": "mail", "env": "test"}
        assert tags_of(ses, IDENTITY_ARN) == {"setup": "42"}
    finally:
        second.stop()
