"""Splink on Spark: the scale-out path.

Same contract as the DuckDB backend (``PAIRS_SCHEMA``: pairs at or above the threshold plus every pair sharing
the decisive identifier). The saved models are written in DuckDB SQL; :func:`spark_model` translates every
blocking rule and comparison level to Spark SQL with sqlglot, plus the few rewrites sqlglot does not make (see
:func:`duckdb_to_spark`). One SparkSession per process, made on first use and stopped at exit; it runs where
``ZHIWANG_SPARK_MASTER`` says (default ``local[2]``), with the driver bound to 127.0.0.1 and no web UI.
"""

from __future__ import annotations

import atexit
import copy
import logging
import os
import re
import shutil
import subprocess
import tempfile
import threading
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from entity_resolution.backends import PAIRS_SCHEMA, pairs_sql, scored_frames
from zhiwang.errors import ConfigError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession
    from sqlglot import exp

DEFAULT_MASTER = "local[2]"
DEFAULT_DRIVER_MEMORY = "2g"
SHUFFLE_PARTITIONS = 8
"""Spark's default of 200 shuffle partitions is for clusters: on two local cores most would be empty tasks."""
SPARK_FIX = "install it with `uv sync` (the dev group) or `pip install 'zhiwang[spark]'`"

_lock = threading.Lock()
_session: SparkSession | None = None
_scratch: Path | None = None


class SparkBackend:
    name = "spark"

    def predict(self, model: dict[str, Any], new: pa.Table, existing: pa.Table | None, *, decisive: str,
                threshold: float) -> pa.Table:
        """Pairs within ``new`` and between ``existing`` and ``new``, scored by Splink's Spark backend."""
        if new.num_rows + (existing.num_rows if existing is not None else 0) < 2 or new.num_rows == 0:
            return PAIRS_SCHEMA.empty_table()
        from splink import Linker, SparkAPI

        spark = spark_session()
        # Splink's tables are cached in executor memory (spilling to local disk) rather than written out as
        # parquet, its default off Databricks: 1.5-2x faster here, and nothing to clean up on shared storage
        api = SparkAPI(spark_session=spark, num_partitions_on_repartition=SHUFFLE_PARTITIONS,
                       break_lineage_method="persist")
        views = {"new_records": _view_name("new_records"), "known_records": _view_name("known_records")}
        try:
            # the same display names as the DuckDB backend: Splink names each side's source dataset after them
            new_table = api.register(_spark_frame(spark, new), dataset_display_name="new_records",
                                     table_name=views["new_records"])
            linker = Linker(new_table, spark_model(model), log_level="ERROR")
            old_table = (api.register(_spark_frame(spark, existing), dataset_display_name="known_records",
                                      table_name=views["known_records"])
                         if existing is not None and existing.num_rows else None)
            frames = scored_frames(linker.inference, new_table, old_table, within=new.num_rows > 1, decisive=decisive,
                                   threshold=threshold)
            if not frames:
                return PAIRS_SCHEMA.empty_table()
            pairs = spark.sql(pairs_sql(frames, decisive, "STRING")).toArrow()
        finally:
            api.delete_tables_created_by_splink_from_db()
            for view in views.values():
                spark.catalog.dropTempView(view)
            # the session is this backend's alone: free every cached table of this call
            spark.catalog.clearCache()
        return pairs.cast(PAIRS_SCHEMA)


# ---- the model in Spark SQL -------------------------------------------------------------------------------

_ARRAY_NODES: tuple[str, ...] = ("Array", "ArrayFilter", "ArrayDistinct", "ArrayConcat", "ArrayIntersect", "Split",
                                 "GenerateSeries")
_ARRAY_FUNCTIONS = {"list_intersect", "array_intersect", "split"}


def _is_array(node: exp.Expression) -> bool:
    from sqlglot import exp

    if isinstance(node, exp.Anonymous):
        return node.name.lower() in _ARRAY_FUNCTIONS
    return isinstance(node, tuple(getattr(exp, name) for name in _ARRAY_NODES))


def duckdb_to_spark(sql: str) -> str:
    """A DuckDB SQL condition in Spark SQL.

    sqlglot translates most of it (lambdas, ``range`` → ``sequence``, ``list_*`` → ``array_*``, double-quoted
    identifiers → backticks: left as they are, Spark would read ``"phone_l"`` as a string constant and a level
    would silently never match). Three rewrites are ours: DuckDB's ``length`` of a list is Spark's ``size``
    (Spark's ``length`` takes only strings); ``list_intersect`` is ``array_intersect``; and
    ``string_split(s, '')`` is ``split(s, '')`` (sqlglot writes the regex ``\\Q\\E``, whose split leaves a
    trailing empty string that would change every character-set Jaccard).
    """
    import sqlglot
    from sqlglot import exp

    def rename(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous) and node.name.lower() == "list_intersect":
            return exp.Anonymous(this="array_intersect", expressions=node.expressions)
        if isinstance(node, exp.Split) and isinstance(node.expression, exp.Literal) and node.expression.this == "":
            return exp.Anonymous(this="split", expressions=[node.this, exp.Literal.string("")])
        return node

    def sized(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Length) and _is_array(node.this):
            return exp.ArraySize(this=node.this)
        return node

    # sqlglot does not descend into a node it has just replaced: rename until nothing changes, then size
    tree, before = sqlglot.parse_one(sql, read="duckdb"), None
    while before != (after := tree.sql(dialect="duckdb")):
        tree, before = tree.transform(rename), after
    tree = tree.transform(sized)
    return tree.sql(dialect="spark")


def spark_model(model: dict[str, Any]) -> dict[str, Any]:
    """A copy of a saved (DuckDB) Splink model with every blocking rule and comparison level in Spark SQL."""
    out = copy.deepcopy(model)
    out["sql_dialect"] = "spark"
    rules = []
    for rule in out.get("blocking_rules_to_generate_predictions", []):
        if isinstance(rule, str):
            rules.append(duckdb_to_spark(rule))
        else:
            rules.append({**rule, "blocking_rule": duckdb_to_spark(rule["blocking_rule"]), "sql_dialect": "spark"})
    out["blocking_rules_to_generate_predictions"] = rules
    for comparison in out.get("comparisons", []):
        for level in comparison["comparison_levels"]:
            if level["sql_condition"].strip().upper() != "ELSE":
                level["sql_condition"] = duckdb_to_spark(level["sql_condition"])
    return out


# ---- the session ------------------------------------------------------------------------------------------

def spark_session() -> SparkSession:
    """This process's SparkSession, made on first use (master ``ZHIWANG_SPARK_MASTER``, driver memory
    ``ZHIWANG_SPARK_DRIVER_MEMORY``) and stopped at interpreter exit."""
    global _session
    with _lock:
        if _session is not None:
            return _session
        try:
            from pyspark.sql import SparkSession
            from splink.backends.spark import similarity_jar_location
        except ImportError as error:
            raise ConfigError(f"ZHIWANG_SPLINK_BACKEND=spark needs pyspark, which is not installed ({error}): "
                              f"{SPARK_FIX}, or unset ZHIWANG_SPLINK_BACKEND to score pairs with DuckDB.") from error
        require_java()
        # py4j logs "closing connection" from finalizers at interpreter exit, after logging's streams closed
        logging.getLogger("py4j").setLevel(logging.WARNING)
        # the driver talks to its executors over loopback only: nothing listens on the machine's other interfaces
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        scratch = _scratch_dir()
        master = os.environ.get("ZHIWANG_SPARK_MASTER") or DEFAULT_MASTER
        memory = os.environ.get("ZHIWANG_SPARK_DRIVER_MEMORY") or DEFAULT_DRIVER_MEMORY
        if not re.fullmatch(r"\d+[kmgt]?", memory.strip().lower()):
            raise ConfigError(f"ZHIWANG_SPARK_DRIVER_MEMORY = {memory!r} is not a JVM memory size: use e.g. 2g or 512m")
        builder = (SparkSession.builder.master(master).appName("zhiwang-splink")
                   .config("spark.driver.host", "127.0.0.1")
                   .config("spark.driver.bindAddress", "127.0.0.1")
                   .config("spark.ui.enabled", "false")
                   .config("spark.ui.showConsoleProgress", "false")
                   .config("spark.locality.wait", "0s")
                   .config("spark.driver.memory", memory.strip())
                   .config("spark.sql.shuffle.partitions", str(SHUFFLE_PARTITIONS))
                   .config("spark.default.parallelism", str(SHUFFLE_PARTITIONS))
                   .config("spark.sql.execution.arrow.pyspark.enabled", "true")
                   # The name comparison's CASE expression exceeds the JVM's 64 KB method limit: generated
                   # code fails, falls back, and its compile attempts cost more than interpreting (5-8 s → 2 s
                   # per query at 400 persons; at 20k persons a 2 GB driver ran out of heap with codegen on).
                   .config("spark.sql.codegen.wholeStage", "false")
                   .config("spark.sql.codegen.factoryMode", "NO_CODEGEN")
                   .config("spark.local.dir", str(scratch / "local"))
                   .config("spark.sql.warehouse.dir", str(scratch / "warehouse"))
                   # Splink's jaro_winkler, jaccard, damerau_levenshtein … for models that use them
                   .config("spark.jars", similarity_jar_location()))
        try:
            session = builder.getOrCreate()
        except Exception as error:  # pyspark raises its own runtime errors when the JVM does not start
            raise ConfigError(f"Spark did not start (master {master!r}, driver memory {memory!r}): {error}. "
                              "Check ZHIWANG_SPARK_MASTER and ZHIWANG_SPARK_DRIVER_MEMORY, and that `java -version` "
                              "prints 17 or newer.") from error
        session.sparkContext.setLogLevel("ERROR")
        session.sparkContext.setCheckpointDir(str(scratch / "checkpoints"))
        _session = session
        atexit.register(stop_spark)
        return session


def stop_spark() -> None:
    """Stop this process's SparkSession (if one was made) and remove its scratch folder."""
    global _session, _scratch
    with _lock:
        if _session is not None:
            _session.stop()
            _session = None
        if _scratch is not None:
            shutil.rmtree(_scratch, ignore_errors=True)
            _scratch = None


def require_java() -> str:
    """The ``java`` Spark will start (``$JAVA_HOME/bin/java`` or the one on PATH); ConfigError when there is
    none or it is older than 17 (Spark 4 needs 17+)."""
    home = os.environ.get("JAVA_HOME")
    java = str(Path(home) / "bin" / "java") if home else shutil.which("java")
    if not java or not Path(java).is_file():
        where = f"JAVA_HOME={home} has no bin/java" if home else "no `java` on PATH and JAVA_HOME is unset"
        raise ConfigError(f"ZHIWANG_SPLINK_BACKEND=spark needs Java 17 or newer, but {where}: install it "
                          "(Debian: apt-get install openjdk-17-jre-headless) or set JAVA_HOME, or unset "
                          "ZHIWANG_SPLINK_BACKEND to score pairs with DuckDB.")
    result = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=60, check=False)
    found = re.search(r'version "(\d+)(?:\.(\d+))?', result.stderr + result.stdout)
    major = int(found.group(1)) if found else 0
    if major == 1 and found and found.group(2):  # "1.8.0" is Java 8
        major = int(found.group(2))
    if major < 17:
        raise ConfigError(f"ZHIWANG_SPLINK_BACKEND=spark needs Java 17 or newer; {java} is "
                          f"{found.group(0) if found else 'of unknown version'}: install 17+ "
                          "(Debian: apt-get install openjdk-17-jre-headless) and point JAVA_HOME at it.")
    return java


def _scratch_dir() -> Path:
    global _scratch
    if _scratch is None:
        _scratch = Path(tempfile.mkdtemp(prefix="zhiwang-spark-"))
    return _scratch


def _view_name(stem: str) -> str:
    # one Spark catalog serves every call in the process: a fresh name per call keeps them apart
    return f"{stem}_{uuid.uuid4().hex[:8]}"


def _spark_frame(spark: SparkSession, table: pa.Table) -> Any:
    """A Spark DataFrame of an Arrow table; an all-null column gets a type Spark accepts (string)."""
    schema = pa.schema([pa.field(f.name, pa.string()) if pa.types.is_null(f.type)
                        else pa.field(f.name, pa.string()) if pa.types.is_large_string(f.type) else f
                        for f in table.schema])
    return spark.createDataFrame(table.cast(schema))
