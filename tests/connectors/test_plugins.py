"""Third-party connectors load through the ``zhiwang.connectors`` entry-point group.

The example plugin in tests/plugins/zhiwang_example_connector is installed into the dev environment (an
editable path dependency in pyproject's dev group), exactly as an outside package would be.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

import pytest

from connectors.base import PullConnector
from connectors.registry import ENTRY_POINT_GROUP, get_connector_class, register_connector, validate_source
from connectors.testing import ConnectorContract, contract_resource
from zhiwang.errors import ConfigError


class TestExampleContract(ConnectorContract):
    connector_name = "example"

    @pytest.fixture()
    def source_options(self) -> dict[str, Any]:
        return {"connector": "example", "rows": 2, "greeting": "欢迎"}

    @pytest.fixture()
    def expected_rows(self) -> list[dict[str, str | None]]:
        return [{"id": "0001", "greeting": "欢迎 0001"}, {"id": "0002", "greeting": "欢迎 0002"}]


def test_the_plugin_is_installed_under_the_entry_point_group() -> None:
    (ep,) = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == "example"]
    assert ep.value == "zhiwang_example_connector:ExampleConnector"


def test_get_connector_class_loads_the_plugin_through_its_entry_point() -> None:
    cls = get_connector_class("example")
    assert (cls.__module__, cls.__name__, cls.name) == ("zhiwang_example_connector", "ExampleConnector", "example")
    assert issubclass(cls, PullConnector)


def test_a_catalog_source_for_the_plugin_validates_and_unknown_options_are_located() -> None:
    ok = contract_resource({"connector": "example", "rows": 5}, ["id"])
    assert validate_source(ok, "catalog/resources/demo.yaml") == []
    bad = contract_resource({"connector": "example", "rowz": 5, "rows": "many"}, ["id"])
    problems = {p.where: p.message for p in validate_source(bad, "catalog/resources/demo.yaml")}
    assert set(problems) == {"catalog/resources/demo.yaml: source.rowz", "catalog/resources/demo.yaml: source.rows"}
    assert "greeting" in problems["catalog/resources/demo.yaml: source.rowz"]  # the message lists the allowed keys


def test_an_unknown_connector_name_lists_the_available_ones() -> None:
    problems = validate_source(contract_resource({"connector": "ftp"}, ["id"]), "r.yaml")
    assert [p.where for p in problems] == ["r.yaml: source.connector"]
    assert "example" in problems[0].message and "sql" in problems[0].message and "http" in problems[0].message


def test_registering_a_taken_name_is_refused() -> None:
    original = get_connector_class("example")
    get_connector_class("sql")

    class Impostor(original):  # type: ignore[misc, valid-type]
        pass

    for name in ("example", "sql"):
        with pytest.raises(ConfigError, match=rf"Connector name '{name}' is already registered by .*; .*Impostor must use another name"):
            register_connector(name)(Impostor)
    assert get_connector_class("example") is original
    assert register_connector("example")(original) is original  # re-registering the same class is harmless
