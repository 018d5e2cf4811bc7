"""Records with different valid identifiers never end in one cluster, even through a record without one."""

from __future__ import annotations

import pyarrow as pa

from entity_resolution.clustering import cluster_records
from entity_resolution.constraints import identifier_conflicts
from quality.validators import cn_id


def valid(body: str) -> str:
    return body + cn_id.check_char(body)


def test_a_record_without_id_cannot_chain_two_people() -> None:
    zhang_a, zhang_b = valid("11010519491231002"), valid("11010519800101001")
    records = pa.table({"record_uid": ["gongan|1", "wangge|2", "gongan|3", "weijian|4"],
                        "id_number": [zhang_a, None, zhang_b, zhang_a.lower()]})
    pairs = pa.table({"record_uid_l": ["gongan|1", "wangge|2", "gongan|1"],
                      "record_uid_r": ["wangge|2", "gongan|3", "weijian|4"],
                      "match_probability": [0.95, 0.97, 0.999]})
    constraints = identifier_conflicts("person", records, pairs, threshold=0.9)
    assert constraints.to_pylist() == [{"record_uid_l": "gongan|1", "record_uid_r": "gongan|3", "decision": "no-match"}]
    clusters = cluster_records(records.column("record_uid"), pairs, threshold=0.9, decisions=constraints).clusters
    label = dict(zip(clusters.column("record_uid").to_pylist(), clusters.column("cluster_id").to_pylist(), strict=True))
    assert label["gongan|1"] == label["weijian|4"]          # same valid ID (x and X alike)
    assert label["gongan|1"] != label["gongan|3"]           # different valid IDs
    assert label["wangge|2"] == label["gongan|3"]           # the ID-less record follows its stronger edge


def test_no_constraints_without_conflicting_identifiers() -> None:
    records = pa.table({"record_uid": ["a|1", "b|2"], "uscc": ["91350100M000100Y43", None]})
    pairs = pa.table({"record_uid_l": ["a|1"], "record_uid_r": ["b|2"], "match_probability": [0.99]})
    assert identifier_conflicts("legal_entity", records, pairs, threshold=0.9).num_rows == 0
    assert identifier_conflicts("building", records, pairs, threshold=0.9).num_rows == 0
