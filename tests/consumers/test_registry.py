"""A new consumer is one module plus its name in the registry: nothing else to edit."""

import sys
import types

import pytest

from consumers import registry
from consumers.runtime.definition import Consumer
from consumers.runtime.options import TopologyOptions
from consumers.runtime.topology import BindingSpec, topology_for
from contracts.events import OrderCompletedV1


def _module(name: str, **attributes: object) -> types.ModuleType:
    module = types.ModuleType(f"consumers.{name}")
    for key, value in attributes.items():
        setattr(module, key, value)
    return module


def test_a_module_named_in_the_registry_is_consumed_and_routed_with_no_other_change(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    review = Consumer("fraud_review", (OrderCompletedV1,), lambda event, tx: None)
    monkeypatch.setitem(
        sys.modules, "consumers.fraud_review", _module("fraud_review", CONSUMER=review)
    )
    monkeypatch.setattr(registry, "SIDE_EFFECTS", (*registry.SIDE_EFFECTS, "fraud_review"))

    consumers = registry.all_consumers()

    assert [c.name for c in consumers] == ["notifications", "analytics", "loyalty", "fraud_review"]
    bindings = topology_for(consumers, TopologyOptions()).bindings
    assert BindingSpec("orders", "podium.fraud_review", OrderCompletedV1.ROUTING_KEY) in bindings


def test_a_named_module_without_a_consumer_is_a_clear_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "consumers.empty", _module("empty"))
    monkeypatch.setattr(registry, "SIDE_EFFECTS", ("empty",))
    with pytest.raises(TypeError, match=r"consumers\.empty defines neither CONSUMER"):
        registry.all_consumers()
