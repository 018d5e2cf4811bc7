"""The contract every connector passes, as a pytest base class (in the spirit of the Singer SDK's
``get_tap_test_class``). Requires pytest; import it from tests only.

Usage, in a test module::

    class TestMyConnector(ConnectorContract):
        connector_name = "my_connector"

        @pytest.fixture()
        def source_options(self) -> dict:          # the catalog's ``source:`` block
            return {"connector": "my_connector", "endpoint": "…"}

        @pytest.fixture()
        def expected_rows(self) -> list[dict]:     # what one pull lands, every value as text (or None)
            return [{"id": "1", "name": "王小明"}]

Optional fixtures to override: ``window`` (the Window pulled), ``secret_values`` (strings that must never
appear in what zhiwang records), ``connector_factory`` (how to build a connector instance).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import ValidationError

from catalog.models import Resource
from connectors.base import Connector, ConnectorContext, Delivery, Landed, SourceConfig, Window, sha256_file
from connectors.registry import available, get_connector_class, parse_source, validate_source
from connectors.state import StateStore

Row = dict[str, str | None]
UNKNOWN_KEY = "zz_not_an_option"


def contract_resource(source_options: dict[str, Any], columns: list[str], resource_id: str = "contract_resource") -> Resource:
    """A minimal valid catalog resource around a ``source:`` block (all columns declared as strings)."""
    columns = columns or ["id"]
    return Resource.model_validate({
        "id": resource_id, "title": "契约测试资源", "provider": "contract", "category": "business", "entity": "none",
        "update_cycle": "daily", "sharing": "unconditional", "source": source_options,
        "record_key": [columns[0]], "fields": [{"column": c} for c in columns],
    })


def landed_rows(landed: Landed) -> list[Row]:
    import pyarrow.parquet as pq

    return pq.read_table(landed.path).to_pylist()


def _sorted(rows: list[Row]) -> list[Row]:
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, ensure_ascii=False))


class ConnectorContract:
    """Tests every connector must pass. Subclass it in a ``Test*`` class and provide the fixtures above."""

    connector_name: ClassVar[str]

    # -- fixtures a subclass may override --------------------------------------------------------------
    @pytest.fixture()
    def window(self) -> Window:
        return Window()

    @pytest.fixture()
    def secret_values(self) -> list[str]:
        return []

    @pytest.fixture()
    def contract_state(self, tmp_path: Path) -> StateStore:
        return StateStore(tmp_path / "contract_home" / "state.sqlite")

    @pytest.fixture()
    def resource(self, source_options: dict[str, Any], expected_rows: list[Row]) -> Resource:
        return contract_resource(source_options, list(expected_rows[0]) if expected_rows else [])

    @pytest.fixture()
    def connector_factory(self, resource: Resource, contract_state: StateStore, tmp_path: Path) -> Callable[[], Connector[Any]]:
        from zhiwang.settings import get_settings

        settings = get_settings(tmp_path / "contract_home", tmp_path / "contract_catalog")

        def make() -> Connector[Any]:
            cls = get_connector_class(self.connector_name)
            return cls(parse_source(resource), ConnectorContext(resource=resource, settings=settings, state=contract_state))

        return make

    def land_all(self, connector: Connector[Any], window: Window, landing: Path) -> list[tuple[Delivery, Landed]]:
        out = []
        for i, delivery in enumerate(connector.deliveries(window)):
            out.append((delivery, delivery.land(landing, f"contract{i}")))
        return out

    # -- the contract ----------------------------------------------------------------------------------
    def test_registered_under_its_name(self) -> None:
        cls = get_connector_class(self.connector_name)
        assert cls.name == self.connector_name, f"{cls} is registered as {self.connector_name!r} but names itself {cls.name!r}"
        assert self.connector_name in available()
        assert issubclass(cls, Connector)

    def test_catalog_source_validates(self, resource: Resource) -> None:
        assert validate_source(resource) == []

    def test_config_is_typed_for_this_connector(self, source_options: dict[str, Any]) -> None:
        cls = get_connector_class(self.connector_name)
        assert issubclass(cls.config_class, SourceConfig) and cls.config_class.model_config.get("extra") == "forbid"
        with pytest.raises(ValidationError):  # connector is a Literal of its own name: a union can pick the model
            cls.config_class.model_validate({**source_options, "connector": "zz_another_connector"})

    def test_config_rejects_unknown_keys(self, source_options: dict[str, Any]) -> None:
        cls = get_connector_class(self.connector_name)
        with pytest.raises(ValidationError, match=UNKNOWN_KEY):
            cls.config_class.model_validate({**source_options, UNKNOWN_KEY: 1})
        problems = validate_source(contract_resource({**source_options, UNKNOWN_KEY: 1}, ["id"]), "res.yaml")
        assert [p.where for p in problems] == [f"res.yaml: source.{UNKNOWN_KEY}"], problems

    def test_deliveries_are_delivery_objects(self, connector_factory: Callable[[], Connector[Any]], window: Window) -> None:
        deliveries = list(connector_factory().deliveries(window))
        assert deliveries, "a connector with data to deliver offered no delivery"
        for delivery in deliveries:
            assert isinstance(delivery, Delivery), f"{delivery!r} is not a connectors.base.Delivery"
            assert isinstance(delivery.source_name, str) and delivery.source_name.strip()

    def test_landed_rows_equal_expected(
        self, connector_factory: Callable[[], Connector[Any]], window: Window, expected_rows: list[Row], tmp_path: Path
    ) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        rows: list[Row] = []
        for delivery, landed in self.land_all(connector_factory(), window, tmp_path / "landing"):
            assert landed.path.is_file() and landed.path.parent == tmp_path / "landing"
            assert landed.sha256 == sha256_file(landed.path), "Landed.sha256 is not the sha256 of the landed file"
            fingerprint = delivery.fingerprint()
            assert fingerprint is None or fingerprint == landed.sha256
            if landed.format == "parquet":
                schema = pq.read_schema(landed.path)
                assert all(pa.types.is_string(t) for t in schema.types), f"landed columns must be text: {schema}"
                rows.extend(landed_rows(landed))
        assert not list(tmp_path.joinpath("landing").glob("*.partial")), "a partial file was left behind"
        assert _sorted(rows) == _sorted(expected_rows)

    def test_landing_twice_gives_the_same_sha256(
        self, connector_factory: Callable[[], Connector[Any]], window: Window, tmp_path: Path
    ) -> None:
        first = [landed.sha256 for _, landed in self.land_all(connector_factory(), window, tmp_path / "one")]
        second = [landed.sha256 for _, landed in self.land_all(connector_factory(), window, tmp_path / "two")]
        assert first == second, "the same data landed twice must give the same files (the runner skips repeats by sha256)"

    def test_acknowledged_state_round_trips(
        self, connector_factory: Callable[[], Connector[Any]], window: Window, contract_state: StateStore,
        resource: Resource, tmp_path: Path,
    ) -> None:
        for delivery, _ in self.land_all(connector_factory(), window, tmp_path / "landing"):
            delivery.acknowledge()
        state = contract_state.connector_state(resource.id)
        assert json.loads(json.dumps(state)) == state, "connector state must be plain JSON"
        list(connector_factory().deliveries(window))  # a connector starts from the state it left

    def test_no_secret_in_what_is_recorded(
        self, connector_factory: Callable[[], Connector[Any]], window: Window, secret_values: list[str],
        contract_state: StateStore, resource: Resource, tmp_path: Path,
    ) -> None:
        recorded = []
        for delivery, landed in self.land_all(connector_factory(), window, tmp_path / "landing"):
            delivery.acknowledge()
            recorded += [delivery.source_name, landed.source_name, str(landed.path), json.dumps(landed.options)]
        recorded.append(json.dumps(contract_state.connector_state(resource.id), ensure_ascii=False))
        for secret in secret_values:
            assert not [text for text in recorded if secret in text], f"a secret appears in what zhiwang records: {recorded}"
