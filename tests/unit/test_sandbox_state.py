"""The sandbox state's association indexes stay true through changes, undo and loading."""

from __future__ import annotations

from email_channels.sandbox.state import Association, SesState


def _association(tenant: str, arn: str) -> Association:
    return Association(tenant_name=tenant, resource_arn=arn, created_at=0.0)


def _indexes(state: SesState) -> tuple[dict[str, list[tuple[str, str]]], ...]:
    """Each tenant's and each resource's keys, as a scan over every association says."""
    by_tenant: dict[str, list[tuple[str, str]]] = {}
    by_resource: dict[str, list[tuple[str, str]]] = {}
    for key in state.associations:
        by_tenant.setdefault(key[0], []).append(key)
        by_resource.setdefault(key[1], []).append(key)
    return by_tenant, by_resource


def _assert_consistent(state: SesState) -> None:
    by_tenant, by_resource = _indexes(state)
    for tenant in {"t1", "t2", "t3"}:
        assert state.associations.of_tenant(tenant) == by_tenant.get(tenant, [])
    for arn in {"a1", "a2", "a3"}:
        assert state.associations.of_resource(arn) == by_resource.get(arn, [])


def test_the_indexes_follow_sets_and_deletes_in_order() -> None:
    state = SesState()
    for tenant, arn in [("t1", "a1"), ("t2", "a1"), ("t1", "a2"), ("t3", "a3")]:
        state.associations[(tenant, arn)] = _association(tenant, arn)
    _assert_consistent(state)
    assert state.associations.of_tenant("t1") == [("t1", "a1"), ("t1", "a2")]
    assert state.associations.of_resource("a1") == [("t1", "a1"), ("t2", "a1")]

    del state.associations[("t1", "a1")]

    _assert_consistent(state)
    assert state.associations.of_tenant("t1") == [("t1", "a2")]
    assert state.associations.of_resource("a1") == [("t2", "a1")]


def test_an_undo_restores_the_indexes_with_the_records() -> None:
    state = SesState()
    state.associations[("t1", "a1")] = _association("t1", "a1")
    state.associations[("t2", "a2")] = _association("t2", "a2")
    state.journal.take()  # committed

    del state.associations[("t1", "a1")]
    state.associations[("t3", "a3")] = _association("t3", "a3")
    state.journal.undo(state)

    assert set(state.associations) == {("t1", "a1"), ("t2", "a2")}
    _assert_consistent(state)
    assert state.associations.of_tenant("t3") == []


def test_loaded_records_are_indexed_and_not_journaled() -> None:
    state = SesState()
    state.put("associations", _association("t1", "a1"))
    state.put("associations", _association("t1", "a2"))

    assert state.journal.take() == {}
    assert state.associations.of_tenant("t1") == [("t1", "a1"), ("t1", "a2")]
    _assert_consistent(state)
