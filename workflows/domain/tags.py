"""Routing and analysis tags taken from an alert's labels, by fixed and documented rules.

Tags never change an alert's identity (that is `fingerprint_of(labels)`); they are what routing,
escalation and the analyzer read. Every rule looks at **labels first, then annotations** under
the same keys, takes the first non-empty value, and strips it. Keys are compared as given
(Prometheus label names are case-sensitive and lower-case by convention).

* **service**: `service`, `service_name`, `app`, `app_kubernetes_io_name`, `application`,
  `k8s_app`, `job`, `container`, `deployment`, `statefulset`, `daemonset`.
  (`job` comes late because Prometheus sets it to the scrape job, often an exporter name.)
  A value naming a metrics exporter (`kube-state-metrics`, `node-exporter`, `*-exporter`,
  `kubelet`, `cadvisor`) is passed over while a later key has a real name: kube-prometheus
  alerts carry the *exporter's* `service`/`job` and the workload's `container`.
* **env**: `env`, `environment`, `deployment_environment`, `stage`; otherwise the first token of
  `cluster`, then of `namespace`, that names an environment (`prod-eu-1` → prod). Values are
  lower-cased and canonicalised: production/prod/prd/live → `prod`; staging/stage/stg/preprod →
  `staging`; development/dev → `dev`; test/testing/qa → `test`; anything else is kept lower-cased.
* **severity**: `severity`, `priority`, `level`, `urgency`; synonyms (case-insensitive):
  critical/crit/page/p0/p1/sev0/sev1/fatal/emergency/emerg/disaster/alert → critical;
  error/err/major/high/p2/sev2 → high; warning/warn/minor/medium/average/p3/sev3 → medium;
  info/informational/notice/low/none/ok/debug/p4/p5/sev4/sev5 → low. Unknown or absent → medium.
* **team**: `team`, `owner`, `squad`, `team_name`, `owning_team`.
* **model_id** (ML workloads): `model_id`, `model`, `model_name`, `gen_ai_request_model`
  (the OpenTelemetry GenAI attribute as Prometheus exports it), `llm_model`.
* **metric_type**: the `metric_type` label if set; otherwise inferred from the alert name
  (`alertname`, split on camel case and punctuation into lower-case words) by the first matching
  rule in `_METRIC_RULES`: cost (tokens_per…, token, cost, spend, budget, billing),
  hallucination, toxicity, gpu_memory (gpu + memory/mem/vram/oom), gpu_temp (gpu + temp/thermal),
  drift, quota (quota, rate limit, throttle, 429), oom (oom, out of memory), latency
  (latency, ttft, p95/p99, slow, response time). No match → empty.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache

from workflows.domain.alerts import AlertTags
from workflows.domain.base import Severity

SERVICE_KEYS = (
    "service", "service_name", "app", "app_kubernetes_io_name", "application", "k8s_app",
    "job", "container", "deployment", "statefulset", "daemonset",
)
ENV_KEYS = ("env", "environment", "deployment_environment", "stage")
ENV_HINT_KEYS = ("cluster", "namespace")
SEVERITY_KEYS = ("severity", "priority", "level", "urgency")
TEAM_KEYS = ("team", "owner", "squad", "team_name", "owning_team")
MODEL_KEYS = ("model_id", "model", "model_name", "gen_ai_request_model", "llm_model")

_ENV_CANON = {
    "production": "prod", "prod": "prod", "prd": "prod", "live": "prod",
    "staging": "staging", "stage": "staging", "stg": "staging", "preprod": "staging",
    "development": "dev", "dev": "dev",
    "test": "test", "testing": "test", "qa": "test",
}

_SEVERITY_SYNONYMS: dict[str, Severity] = {}
for _severity, _words in (
    (Severity.CRITICAL, "critical crit page p0 p1 sev0 sev1 fatal emergency emerg disaster alert"),
    (Severity.HIGH, "error err major high p2 sev2"),
    (Severity.MEDIUM, "warning warn minor medium average p3 sev3"),
    (Severity.LOW, "info informational notice low none ok debug p4 p5 sev4 sev5"),
):
    for _word in _words.split():
        _SEVERITY_SYNONYMS[_word] = _severity

# (metric_type, pattern over the snake_cased alert name); first match wins, so the specific
# rules (gpu_memory) come before the general ones (oom).
_METRIC_RULES = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        ("cost", r"tokens?_per|(^|_)tokens?(_|$)|cost|spend|budget|billing"),
        ("hallucination", r"hallucinat"),
        ("toxicity", r"toxic"),
        ("gpu_memory", r"gpu.*(mem|vram|oom)|(mem|vram).*gpu"),
        ("gpu_temp", r"gpu.*(temp|thermal)|(temp|thermal).*gpu"),
        ("drift", r"drift"),
        ("quota", r"quota|rate_?limit|throttl|(^|_)429(_|$)"),
        ("oom", r"(^|_)oom|out_?of_?memory"),
        ("latency", r"latency|(^|_)ttft(_|$)|(^|_)p9[059](_|$)|(^|_)slow|response_?time"),
    )
)
_EXPORTER_SUFFIXES = ("kube-state-metrics", "-exporter", "kubelet", "cadvisor")
_CAMEL_BOUNDARY = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
_NON_WORD = re.compile(r"[^a-z0-9]+")
_TOKEN_SPLIT = re.compile(r"[-_.]")


def tags_from_labels(labels: Mapping[str, str], annotations: Mapping[str, str]) -> AlertTags:
    """Tags by the rules in this module's docstring; never raises, missing values are empty."""
    return _tags(
        _service(labels, annotations),
        _env(labels, annotations),
        _first(labels, annotations, SEVERITY_KEYS),
        _first(labels, annotations, TEAM_KEYS),
        _first(labels, annotations, MODEL_KEYS),
        _first(labels, annotations, ("metric_type",)).lower()
        or metric_type_from_name(labels.get("alertname", "")),
    )


@lru_cache(maxsize=4096)
def _tags(
    service: str, env: str, severity: str, team: str, model_id: str, metric_type: str
) -> AlertTags:
    # Storms repeat a few tag combinations endlessly; AlertTags is frozen, so one shared instance
    # per combination is safe and saves building and validating a model per alert.
    return AlertTags(
        service=service,
        env=env,
        severity=severity_from_text(severity),
        team=team,
        model_id=model_id,
        metric_type=metric_type,
    )


def severity_from_text(text: str, default: Severity = Severity.MEDIUM) -> Severity:
    """Map a source's severity word to ours (see module docstring); unknown gives `default`."""
    return _SEVERITY_SYNONYMS.get(text.strip().lower().replace("-", ""), default)


def canonical_env(value: str) -> str:
    """Lower-case an environment name and fold the usual aliases (production → prod...)."""
    lowered = value.strip().lower()
    return _ENV_CANON.get(lowered, lowered)


@lru_cache(maxsize=4096)
def metric_type_from_name(alertname: str) -> str:
    """Infer the ML metric type from an alert name such as `LLMTokensPerSecondHigh` (→ cost)."""
    if not alertname:
        return ""
    snake = _NON_WORD.sub("_", _CAMEL_BOUNDARY.sub("_", alertname).lower())
    for name, pattern in _METRIC_RULES:
        if pattern.search(snake):
            return name
    return ""


def _first(labels: Mapping[str, str], annotations: Mapping[str, str], keys: tuple[str, ...]) -> str:
    for source in (labels, annotations):
        for key in keys:
            value = source.get(key)
            if value and (stripped := value.strip()):
                return stripped
    return ""


def _service(labels: Mapping[str, str], annotations: Mapping[str, str]) -> str:
    exporter = ""
    for source in (labels, annotations):
        for key in SERVICE_KEYS:
            value = (source.get(key) or "").strip()
            if not value:
                continue
            if not value.endswith(_EXPORTER_SUFFIXES):
                return value
            exporter = exporter or value
    return exporter


def _env(labels: Mapping[str, str], annotations: Mapping[str, str]) -> str:
    explicit = _first(labels, annotations, ENV_KEYS)
    if explicit:
        return canonical_env(explicit)
    for key in ENV_HINT_KEYS:
        for token in _TOKEN_SPLIT.split(labels.get(key, "").lower()):
            if token in _ENV_CANON:
                return _ENV_CANON[token]
    return ""
