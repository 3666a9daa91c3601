"""Build the labelled alert set the local classifier learns from (seeded, reviewable).

    .venv/bin/python -m activities.llm.data.build_dataset

Every spec in `specs_*.py` was written by hand; this script only varies what real alerts vary
(instance and namespace labels, how the rule author spelled the name and the severity label,
which annotations are present, staging vs production) and splits the set. The split is by
alert *spec* (not by row), so the held-out 25% measures how well the classifier generalises to
alert names it has never seen, not how well it remembers phrasings.

Truth severity is the spec's severity, one level lower in staging (nobody gets paged at night
for staging).
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

from activities.llm.data.specs_data import DATA
from activities.llm.data.specs_infra import INFRA, Spec
from activities.llm.data.specs_ml import ML

SEED = 20240605
TEST_SHARE = 0.25
HERE = Path(__file__).parent
TRAIN_FILE = HERE / "alerts_train.jsonl"
TEST_FILE = HERE / "alerts_test.jsonl"

_SERVICES = [
    "checkout",
    "payments",
    "search",
    "orders",
    "auth",
    "catalog",
    "chat-assistant",
    "recommender",
    "billing",
    "inventory",
    "gateway",
    "notifications",
]
_MODELS = ["llama-3-70b", "mistral-7b", "gpt-4o", "claude-haiku", "fraud-xgb", "ranker-v3"]
_SEVERITY_SPELLINGS = {
    "critical": ["critical", "critical", "page", "P1", "sev1"],
    "warning": ["warning", "warning", "warn", "P3", "minor"],
    "info": ["info", "info", "none"],
    "none": ["none"],
}
_LOWER = {"critical": "high", "high": "medium", "medium": "low", "low": "low"}


def all_specs() -> list[Spec]:
    return [*INFRA, *DATA, *ML]


def _spell_name(name: str, rng: random.Random) -> str:
    """Rule authors write CamelCase, snake_case or words; keep all three in the set."""
    style = rng.random()
    if style < 0.7:
        return name
    words = re.findall(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+", name)
    if style < 0.85:
        return "_".join(w.lower() for w in words)
    return " ".join(words)


def _labels(spec: Spec, rng: random.Random, env: str) -> dict[str, str]:
    name, _, sev_label, _, system, _, _ = spec
    labels = {
        "alertname": _spell_name(name, rng),
        "instance": f"10.{rng.randint(0, 9)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}:"
        f"{rng.choice([9100, 9187, 9121, 8080, 9400, 8000])}",
        "job": system if rng.random() < 0.6 else f"{system}-exporter",
    }
    spelled = rng.choice(_SEVERITY_SPELLINGS[sev_label])
    if rng.random() < 0.9:
        labels["severity"] = spelled
    if rng.random() < 0.6:
        labels["service"] = rng.choice(_SERVICES)
    if rng.random() < 0.5:
        labels["namespace"] = rng.choice(["prod", "default", "ml-serving", "data", "platform"])
    if rng.random() < 0.4:
        labels["cluster"] = rng.choice(["eu-1", "us-east", "gke-prod", "dc2"])
    if env != "prod" or rng.random() < 0.5:
        labels["env"] = env
    return labels


def _fill(text: str, labels: dict[str, str], rng: random.Random) -> str:
    values = {
        "instance": labels["instance"],
        "job": labels["job"],
        "service": labels.get("service", rng.choice(_SERVICES)),
        "namespace": labels.get("namespace", "prod"),
        "pod": f"{labels.get('service', 'app')}-{rng.randint(1000, 9999)}-x{rng.randint(1, 9)}",
        "node": f"ip-10-0-{rng.randint(1, 99)}-{rng.randint(1, 254)}",
        "model": rng.choice(_MODELS),
    }
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m.group(1), m.group(0)), text)


def expand(spec: Spec, rng: random.Random) -> list[dict]:
    """Two to four realistic firings of one spec."""
    name, category, _, true_sev, _, summaries, descriptions = spec
    rows = []
    for _ in range(rng.randint(2, 4)):
        env = "staging" if rng.random() < 0.15 else "prod"
        labels = _labels(spec, rng, env)
        annotations = {}
        if rng.random() < 0.85:
            annotations["summary"] = _fill(rng.choice(summaries), labels, rng)
        if rng.random() < 0.8 or not annotations:
            key = "description" if rng.random() < 0.8 else "message"
            annotations[key] = _fill(rng.choice(descriptions), labels, rng)
        severity = _LOWER[true_sev] if env == "staging" else true_sev
        rows.append(
            {
                "alertname": labels["alertname"],
                "labels": labels,
                "annotations": annotations,
                "category": category,
                "severity": severity,
                "spec": name,
            }
        )
    return rows


def build(seed: int = SEED) -> tuple[list[dict], list[dict]]:
    """(train, test): split by spec so test alert names are unseen in training."""
    rng = random.Random(seed)
    specs = all_specs()
    order = list(range(len(specs)))
    rng.shuffle(order)
    test_ids = set(order[: round(len(specs) * TEST_SHARE)])
    train, test = [], []
    for i, spec in enumerate(specs):
        (test if i in test_ids else train).extend(expand(spec, rng))
    return train, test


def main() -> None:
    train, test = build()
    for path, rows in ((TRAIN_FILE, train), (TEST_FILE, test)):
        path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows))
    print(f"train={len(train)} test={len(test)} specs={len(all_specs())}")


if __name__ == "__main__":
    main()
