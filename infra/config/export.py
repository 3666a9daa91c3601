"""Write a configuration back as YAML that reads like a hand-written `lim.yaml`.

Defaults are left out and durations, clock times and days use their short spellings, so
`parse_text(export_config(doc))` gives back an equal document.
"""

from __future__ import annotations

import yaml

from workflows.domain.config import ConfigDocument


def export_config(doc: ConfigDocument) -> str:
    """The document as YAML: `version` first, then only what differs from the defaults."""
    data = doc.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    data.pop("version", None)
    ordered = {"version": doc.version, **data}
    return yaml.safe_dump(ordered, sort_keys=False, allow_unicode=True, width=100)


def document_json(doc: ConfigDocument) -> dict[str, object]:
    """The document as JSON-ready data (what the database stores)."""
    return doc.model_dump(mode="json", by_alias=True)
