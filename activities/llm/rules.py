"""Keyword rules for the local classifier: category evidence and the severity factors.

Rules generalise where examples cannot: an alert name never seen before still says "GPU",
"replication", "429" or "drift". Patterns are matched against the normalised alert text (alert
name split into words, summary, description, job/exporter name), lower-cased.
"""

from __future__ import annotations

import re

from workflows.domain.analysis import Category, SeverityFactors

# Each category: (pattern, weight). Weights are relative evidence, summed per category.
_RAW_RULES: dict[Category, list[tuple[str, float]]] = {
    Category.GPU_ACCELERATOR: [
        (r"\bgpus?\b|\bcuda\b|\bnvidia\b|\bdcgm|\bxid\b|\bnvlink\b|\btpu\b|accelerator", 4.0),
        (r"\becc\b|framebuffer|\bsm clock|thermal(ly)? throttl", 1.0),
    ],
    Category.MODEL_SERVING: [
        (
            (
                r"\bvllm\b|\btriton\b|\btgi\b|text.generation.inference|kserve|inference|"
                r"model.?serv|time.to.first.token|\bttft\b|tokens.per.second|\bkv.cache"
            ),
            4.0,
        ),
        (
            (
                r"\bembedding (service|requests?)|generat(e|ion) (latency|requests?)|model (failed )?"
                r"(to )?load"
            ),
            1.5,
        ),
    ],
    Category.MODEL_QUALITY: [
        (
            (
                r"hallucinat|toxic|grounded|guardrail|accuracy|\beval(uation)?\b|thumbs|"
                r"unhelpful|relevance|precision|recall|f1.score|answer quality|safety filter"
            ),
            4.0,
        ),
    ],
    Category.DRIFT: [
        (
            (
                r"drift|\bpsi\b|distribution shift|skew|kl divergence|\bjs \d|null rate|"
                r"missing values|schema change|reference window|feature distribution"
            ),
            4.0,
        ),
    ],
    Category.COST_QUOTA: [
        (
            (
                r"\bcost|spend|budget(?! burn)|\bquota|\b429\b|rate.?limit|insufficient_quota|"
                r"billing|credits?\b|tokens?.(per.minute|spend|cost)|finops|token cost"
            ),
            3.0,
        ),
    ],
    Category.SECURITY: [
        (
            (
                r"secur|brute.?force|failed (ssh|login)|login failures?|unauthori[sz]ed|"
                r"access.?denied|falco|intrusion|malware|vulnerab|\bcve\b|\bwaf\b|injection|"
                r"jailbreak|root (account|user)|vault|sealed|privileged|leak|\bpii\b|credential|"
                r"suspicious|audit"
            ),
            3.0,
        ),
        (r"\bssl\b|\btls\b|certificate|\bx509\b|\bcert\b|cert.manager|expir", 2.5),
    ],
    Category.DATABASE: [
        (
            (
                r"postgres|\bpg|mysql|mariadb|redis|mongo|elasticsearch|opensearch|cassandra|"
                r"clickhouse|\brds\b|database|\bdb\b|\bsql\b|backup|innodb|replica(tion)?|deadlock|"
                r"dead locks|slow quer|connection pool|pgbouncer|shards?|keyspace|memcached"
            ),
            2.5,
        ),
    ],
    Category.NETWORK: [
        (
            (
                r"network|\bdns\b|coredns|servfail|packet|\bbgp\b|interface|\bnic\b|conntrack|"
                r"\bvpn\b|tunnel|switch|router|probe|blackbox|unreachable|load.?balancer|\belb\b|"
                r"\balb\b|upstream connect|haproxy|traefik|ingress|bandwidth|latency between|target group|"
                r"targets? unhealthy"
            ),
            2.0,
        ),
    ],
    Category.EXTERNAL_DEPENDENCY: [
        (
            (
                r"third.?party|vendor|partner|provider|stripe|twilio|sendgrid|paypal|auth0|okta|"
                r"github|cloudflare|\bcdn\b|\bs3\b|aws health|status page|upstream (llm|api)|"
                r"openai|anthropic|external"
            ),
            2.5,
        ),
    ],
    Category.APPLICATION: [
        (
            (
                r"error rate|\b5xx\b|exception|crash|restart|latency|slo\b|error budget|"
                r"\bhttp\b|requests?|response|timeout|\bjvm\b|heap|\bgc\b|garbage|consumer|"
                r"backlog|queue|unack|job failed|oomkilled|deployment|release|service down"
            ),
            1.2,
        ),
    ],
    Category.INFRASTRUCTURE: [
        (
            (
                r"\bhost\b|\bnode\b|\bcpu\b|memory|\bdisk|filesystem|inode|\bload\b|kubelet|"
                r"kube|\bpods?\b|container|volume|\bpvc\b|etcd|ceph|\bosd\b|\braid\b|\bzfs\b|"
                r"systemd|clock|\bntp\b|kernel|\boom\b|prometheus|exporter|target|kafka|"
                r"rabbitmq|broker|replicas|cluster|storage|\bedac\b|hpa|overcommit"
            ),
            1.2,
        ),
    ],
}
RULES = {c: [(re.compile(p), w) for p, w in rs] for c, rs in _RAW_RULES.items()}


def rule_scores(text: str) -> dict[Category, float]:
    """Summed weights of the rules that match `text` (lower-cased), per category."""
    scores: dict[Category, float] = {}
    for category, rules in RULES.items():
        total = sum(w for rx, w in rules if rx.search(text))
        if total:
            scores[category] = total
    return scores


# ---- severity factors ------------------------------------------------------------------------

SEVERITY_LABEL_URGENCY = {
    "critical": 1.0,
    "page": 1.0,
    "p1": 1.0,
    "sev1": 1.0,
    "emergency": 1.0,
    "fatal": 1.0,
    "high": 0.8,
    "error": 0.8,
    "major": 0.8,
    "p2": 0.8,
    "sev2": 0.8,
    "warning": 0.5,
    "warn": 0.5,
    "medium": 0.5,
    "minor": 0.45,
    "p3": 0.5,
    "sev3": 0.5,
    "info": 0.15,
    "low": 0.15,
    "p4": 0.15,
    "p5": 0.1,
    "none": 0.05,
    "debug": 0.05,
}
_OUTAGE = re.compile(
    r"\bdown\b|unavailable|unreachable|no healthy|outage|expired|quorum|insufficient members|"
    r"sealed|has no server|no node marked|\bred\b|health_err|cannot log in|all .{0,20}(fail|down)|"
    r"data loss|root account|leak|exhausted|fallen off|lost|not established|read.?only|"
    r"shell (was )?spawned|/etc/shadow|compromis|breach"
)
_DEGRADED = re.compile(
    r"error|fail|5xx|latency|slow|timeout|oom|crash|restart|lag|drift|rejected|throttl|"
    r"unhealthy|degraded|not ready|high|spike|too many|exceed|above|drop|429|burn"
)
_EARLY = re.compile(
    r"will (fill|expire|run)|predicted|soon|approaching|nearly|almost|expires? in|"
    r"getting close|filling up|about to"
)
_MINOR = re.compile(r"\blow\b.*utili|idle|overcommit|info|should always be firing|watchdog")
_WIDE = re.compile(
    r"cluster|quorum|region|all (targets|nodes|servers|instances|services)|every|"
    r"no healthy|many accounts|across"
)
_NARROW = re.compile(r"\bpod\b|container|\binstance\b|one |single|\bgpu \d|replica member")


def severity_factors(
    text: str, labels: dict[str, str], business_criticality: float | None
) -> SeverityFactors:
    """The four severity factors for one alert (weights and bands in `domain.analysis`)."""
    label = labels.get("severity", labels.get("priority", "")).strip().lower()
    urgency = SEVERITY_LABEL_URGENCY.get(label, 0.5)
    if _EARLY.search(text):
        urgency = min(urgency, 0.6)
    if _MINOR.search(text):
        impact = 0.1
    elif _OUTAGE.search(text):
        impact = 0.95
    elif _EARLY.search(text):
        impact = 0.4
    elif _DEGRADED.search(text):
        impact = 0.65
    else:
        impact = 0.5
    scope = 0.8 if _WIDE.search(text) else 0.35 if _NARROW.search(text) else 0.5
    env = (labels.get("env") or labels.get("environment") or "").lower()
    if business_criticality is not None:
        business = business_criticality
    elif env and env not in ("prod", "production", "prd", "live"):
        business = 0.0
    else:
        business = 0.7
    return SeverityFactors(
        impact=impact, urgency=urgency, scope=scope, business_criticality=business
    )
