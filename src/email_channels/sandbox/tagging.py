"""Tags on tenants and email identities: TagResource, UntagResource, ListTagsForResource."""

from __future__ import annotations

import dataclasses

from email_channels.sandbox.account import Account, JsonObject, not_found
from email_channels.sandbox.shapes import bad_request
from email_channels.sandbox.state import EmailIdentity, SesState, Tags, Tenant

# The SES limits (TagResource and Tag in the sesv2 model's documentation); the model itself
# carries no min/max for them, so botocore does not check them on the client side.
MAX_TAGS_PER_RESOURCE = 50
MAX_KEY_LENGTH = 128
MAX_VALUE_LENGTH = 256


def tags_from_request(request: JsonObject) -> Tags:
    """The request's `Tags` list as (key, value) pairs, checked against the SES limits."""
    tags = _checked_tags(request.get("Tags") or [])
    _check_count(len(tags))
    return tags


def tags_to_response(tags: Tags) -> list[JsonObject]:
    """(key, value) pairs as the `Tags` list SES answers."""
    return [{"Key": key, "Value": value} for key, value in tags]


def tag_resource(state: SesState, request: JsonObject, account: Account) -> JsonObject:
    """TagResource: adds tags and overwrites the values of keys the resource already has."""
    resource = _find_resource(state, request["ResourceArn"], account)
    merged = dict(resource.tags)
    merged.update(_checked_tags(request["Tags"]))
    _check_count(len(merged))
    _store(state, dataclasses.replace(resource, tags=tuple(merged.items())))
    return {}


def untag_resource(state: SesState, request: JsonObject, account: Account) -> JsonObject:
    """UntagResource: removes the keys; a key the resource does not have is ignored."""
    resource = _find_resource(state, request["ResourceArn"], account)
    removed = set(request["TagKeys"])
    kept = tuple((key, value) for key, value in resource.tags if key not in removed)
    _store(state, dataclasses.replace(resource, tags=kept))
    return {}


def list_tags_for_resource(state: SesState, request: JsonObject, account: Account) -> JsonObject:
    """ListTagsForResource: the tags in the order they were first added."""
    resource = _find_resource(state, request["ResourceArn"], account)
    return {"Tags": tags_to_response(resource.tags)}


def _find_resource(state: SesState, arn: str, account: Account) -> Tenant | EmailIdentity:
    # Parse the ARN to look the resource up by name instead of scanning every resource.
    if not arn.startswith("arn:"):
        raise bad_request(f"ResourceArn {arn!r} is not an ARN.")
    prefix = f"arn:aws:ses:{account.region}:{account.account_id}:"
    kind, _, rest = arn.removeprefix(prefix).partition("/")
    resource: Tenant | EmailIdentity | None = None
    if arn.startswith(prefix) and kind == "tenant":
        resource = state.tenants.get(rest.partition("/")[0])
    elif arn.startswith(prefix) and kind == "identity":
        resource = state.identities.get(rest)
    # The full ARN must match: a tenant re-created under the same name has a new tenant id.
    if resource is None or resource.arn != arn:
        raise not_found(f"Resource {arn} does not exist.")
    return resource


def _store(state: SesState, resource: Tenant | EmailIdentity) -> None:
    if isinstance(resource, Tenant):
        state.tenants[resource.name] = resource
    else:
        state.identities[resource.name] = resource


def _checked_tags(raw_tags: list[JsonObject]) -> Tags:
    keys: set[str] = set()
    for tag in raw_tags:
        key: str = tag["Key"]
        value: str = tag["Value"]
        if not 1 <= len(key) <= MAX_KEY_LENGTH:
            raise bad_request(f"Tag key {key[:40]!r} must be 1-{MAX_KEY_LENGTH} characters long.")
        if len(value) > MAX_VALUE_LENGTH:
            raise bad_request(
                f"The value of tag {key!r} must be at most {MAX_VALUE_LENGTH} characters long."
            )
        # Which value would win is undefined, so a duplicate is refused rather than guessed.
        if key in keys:
            raise bad_request(f"Tag key {key!r} appears more than once.")
        keys.add(key)
    return tuple((tag["Key"], tag["Value"]) for tag in raw_tags)


def _check_count(count: int) -> None:
    if count > MAX_TAGS_PER_RESOURCE:
        raise bad_request(
            f"A resource can have at most {MAX_TAGS_PER_RESOURCE} tags; this request makes {count}."
        )
