"""Category evidence for the local classifier: product prefixes, metric-name families, label keys.

Real rules are named after the exporter or product that emits them (`KubePodCrashLooping`,
`PostgresqlTooManyConnections`, `DCGMXidErrors`, `VLLMKVCacheUsageHigh`) and carry the labels
that exporter attaches (`datname`, `persistentvolumeclaim`, `gpu`, `consumergroup`...). So the
evidence here is of three general kinds, never one alert name:

* `PRODUCTS`: a product or exporter word -> (category, weight). A product says where the alert
  comes from, not always what is wrong (a Kafka *consumer lag* is the application's problem),
  so product weights sit below the specific families that can overrule them.
* `FAMILIES`: a family of metric/alert words -> (category, weight). Specific families (GPU,
  serving, quality, drift, quota, certificates, crash loops) weigh 4-5; generic words that
  every category uses ("errors", "latency", "memory") weigh 1-2.
* Label keys: exporters' label *names* are read as words too (`datname` -> database hint).

Evidence found in the alert name, the source labels (`job`, `exporter`, `container`...) or the
label keys counts fully; evidence found only in the free-text summary/description counts
`BODY_SHARE`, because descriptions mention instance names, volumes and neighbours.
"""

from __future__ import annotations

import re

from workflows.domain.analysis import Category as C

BODY_SHARE = 0.5
EXTRA_SHARE = 0.25


def word_list(words: str) -> list[str]:
    """Space-separated words as a list: long vocabularies stay readable as prose."""
    return words.split()


# Product / exporter words (after tokenising; see `name_words`). Weight 3 = a strong prior,
# 4 = the product alone settles it unless a specific family disagrees.
PRODUCTS: dict[str, tuple[C, float]] = {
    **dict.fromkeys(
        word_list(
            "postgres postgresql pg patroni pgbouncer cnpg mysql mysqld mariadb galera "
            "redis mongo mongodb elasticsearch opensearch cassandra scylla clickhouse "
            "memcached rds aurora dynamodb cockroachdb couchbase influxdb mssql cloudsql"
        ),
        (C.DATABASE, 4.5),
    ),
    # Generic words: the name may say "database" of etcd's or Prometheus's own store.
    **dict.fromkeys(["sql", "database", "db"], (C.DATABASE, 3.0)),
    **dict.fromkeys(
        word_list(
            "kube kubernetes kubelet node host etcd ceph osd minio longhorn velero zfs raid "
            "prometheus alertmanager thanos mimir loki tempo cortex ec2 eks gke aks kafka "
            "rabbitmq zookeeper nats consul"
        ),
        (C.INFRASTRUCTURE, 3.0),
    ),
    **dict.fromkeys(
        word_list(
            "coredns dns blackbox snmp cilium calico haproxy traefik envoy istio ingress "
            "alb elb nlb bgp vpn"
        ),
        (C.NETWORK, 3.0),
    ),
    **dict.fromkeys(
        word_list(
            "vault falco cert certificate certmanager x509 ssl tls guardduty cloudtrail iam "
            "keycloak trivy waf modsecurity crowdsec gitleaks"
        ),
        (C.SECURITY, 4.0),
    ),
    **dict.fromkeys(
        word_list(
            "jvm jmx springboot spring php fpm sidekiq celery lambda argocd argo flux "
            "tomcat gunicorn uwsgi nodejs"
        ),
        (C.APPLICATION, 3.0),
    ),
    # Web servers serve the application; their own 5xx/latency is the app's symptom.
    **dict.fromkeys(["nginx", "apache", "httpd", "caddy"], (C.APPLICATION, 2.0)),
    **dict.fromkeys(
        ["gpu", "gpus", "dcgm", "nvidia", "cuda", "nvlink", "xid", "tpu"], (C.GPU_ACCELERATOR, 5.0)
    ),
    **dict.fromkeys(
        word_list(
            "vllm triton tgi kserve seldon bentoml torchserve inference inferenceservice llm"
        ),
        (C.MODEL_SERVING, 4.0),
    ),
    **dict.fromkeys(
        word_list(
            "stripe twilio sendgrid mailgun paypal auth0 okta cloudflare github statuspage "
            "openai anthropic bedrock"
        ),
        (C.EXTERNAL_DEPENDENCY, 3.0),
    ),
    **dict.fromkeys(["litellm", "billing", "finops"], (C.COST_QUOTA, 4.0)),
}

# Tokens that real names split apart ("Core DNS", "Rabbit MQ", "Mongo DB", "K Serve").
_JOINABLE = {p for p in PRODUCTS} | {
    "rabbitmq",
    "postgresql",
    "coredns",
    "kserve",
    "openai",
    "guardduty",
    "cloudtrail",
    "argocd",
    "springboot",
    "certmanager",
    "clickhouse",
    "dynamodb",
    "mongodb",
    "pgbouncer",
    "litellm",
    "cloudsql",
    "nodejs",
    "opensearch",
    "keycloak",
    "crowdsec",
    "gitleaks",
}
_PREFIXES = sorted((p for p in _JOINABLE if len(p) >= 3), key=len, reverse=True)

_RAW_FAMILIES: list[tuple[C, float, str]] = [
    # ML / LLM workloads: most specific, highest weights.
    (
        C.GPU_ACCELERATOR,
        5.0,
        (
            r"\bgpus?\b|framebuffer|\bfb (used|free)\b|\becc\b|nvlink|\bxid\b|"
            r"device plugin|cuda"
        ),
    ),
    (
        C.MODEL_SERVING,
        5.0,
        (
            r"time to first token|\bttft\b|tokens? per second|kv cache|"
            r"num requests waiting|generation (tokens|throughput)|model (server|serving|load)|"
            r"inference (service|queue|request|failures?|latency)|embeddings? (service|endpoint)|"
            r"ray serve|replicas? of deployment|text generation inference"
        ),
    ),
    (
        C.MODEL_QUALITY,
        5.0,
        (
            r"hallucinat|toxic|grounded|guardrail|accuracy|relevance|\bndcg|"
            r"precision|\brecall\b|f1 score|thumbs|negative feedback|answer quality|unsafe content|"
            r"evaluator"
        ),
    ),
    (
        C.DRIFT,
        5.0,
        (
            r"drift|\bpsi\b|distribution shift|(?<!clock )\bskew\b|jensen shannon|"
            r"kl divergence|null rate|reference (window|centroid|distribution)|"
            r"distribution (shifted|changed)|training serving"
        ),
    ),
    (
        C.COST_QUOTA,
        5.0,
        (
            r"\b429\b|rate limit(ed|s)?\b|too many requests|insufficient quota|"
            r"tokens per minute|\btpm\b|service quota|quota (exceeded|exhausted)|"
            r"(spend|cost|budget) (anomaly|exceeded|spike|limit)|monthly (spend|budget|limit)|"
            r"max budget|token (spend|cost)|concurrent executions? limit"
        ),
    ),
    (C.COST_QUOTA, 4.0, r"throttles\b|throttling exceptions|throttled by (the )?(api|provider)"),
    (C.COST_QUOTA, 3.0, r"\bquota\b|\bspend\b|\bcost\b"),
    # Security before the generic words: a certificate on a Kubernetes client is still a cert.
    (
        C.SECURITY,
        5.0,
        (
            r"certificates?|\bcerts?\b|\bssl\b|\btls\b|x509|vault|sealed|"
            r"brute ?force|failed (ssh|login|password)|unauthori[sz]ed|access denied|intrusion|"
            r"malware|vulnerab|\bcves?\b|injection|privileged|root (account|user)|sensitive file|"
            r"shell (was )?spawned|shell in container|\bc2\b|credential|secret (detected|exposed|"
            r"committed|leak)|access key|guardduty|iam policy|audit|suspicious"
        ),
    ),
    (
        C.DATABASE,
        4.0,
        (
            r"replication lag|slave|replica (member|lag|errors)|dead ?locks?|"
            r"dead tuples|vacuum|bloat|invalid index|innodb|slow quer|rollback rate|commit rate|"
            r"statement timeout|wal\b|unassigned shards|compaction task|\bdtu\b|read throttle|"
            r"write throttle|\bdatname\b|\brelname\b|db instance|database id|table name|keyspace"
        ),
    ),
    (C.DATABASE, 2.0, r"too many connections|connection pool|max connections|cursors?"),
    (
        C.NETWORK,
        4.0,
        (
            r"network (receive|transmit|interface|unavailable)|receive err|"
            r"transmit err|interface|\bbond\b|conntrack|packet loss|\bbgp\b|servfail|"
            r"\bdns\b|upstream (server|connect|connection)|no alive backends?|backend (connection|"
            r"down)|unhealthy hosts?|target group|load balancer|kube proxy|\bprobe\b|slow ping|"
            r"\bicmp\b|throughput (in|out)|bandwidth|endpoints? not ready|\bif descr\b|switch|"
            r"router|tunnel"
        ),
    ),
    (
        C.APPLICATION,
        4.0,
        (
            r"crash ?loop|crashloopbackoff|\bjob (failed|not completed)|"
            r"jobs? failed|cronjob|rollout|generation mismatch|sync failed|failed to sync|"
            r"reconcil|oom ?killed|oom killer|\b[45] ?xx\b|http (server )?errors|response errors|"
            r"\bpanics?\b|(?<!throttling )exceptions?\b|error budget|\bslo\b|consumers? (group|lag)|consumer lag|"
            r"lagging|unack|no (queue )?consumer|unroutable|slow consumers|enqueued|queue (too|size|"
            r"time)|max children|healthcheck failed|worker (down|"
            r"offline)|request (latency|errors?|error rate)|request latency"
        ),
    ),
    (
        C.EXTERNAL_DEPENDENCY,
        4.0,
        (
            r"third.?party|partner|\bvendor|provider|upstream (api|"
            r"provider)|status ?page|\bhealth event|operational issue|edge locations|delivery failures|"
            r"bounce rate|undelivered|dependency"
        ),
    ),
    (C.INFRASTRUCTURE, 5.0, r"kube ?quota|resource ?quota|namespace quota"),
    (
        C.INFRASTRUCTURE,
        4.0,
        (
            r"api ?server|kube api\b|agent (down|unhealthy)|kubelet|scheduler|controller manager|\betcd\b|"
            r"leader|quorum|members? (down|unhealthy)|persistent ?volume|\bpvc\b|volume|"
            r"replicas mismatch|statefulset|daemonset|\bhpa\b|horizontal pod|overcommit|"
            r"resource quota|requests cpu|pod capacity|pleg|target (down|missing)|"
            r"disappeared from prometheus|scrape|remote write|tsdb|rule (evaluation|"
            r"failures)|unhealthy (ingester|distributor|compactor)|(ingester|distributor)s?\b.{0,20}"
            r"(unhealthy|limit|ring)|cpu throttling|raid|edac|\bdisks?\b|filesystem|inodes?|"
            r"mountpoint|fstype|\bswap\b|kernel|systemd|clock|\bntp\b|temperature|overtemperature|"
            r"hardware|file descriptors|context switch|page faults|cpu steal|status check|"
            r"node group|watchdog|inhibit|placement groups?|\bosd\b|partitions?|broker|controller"
        ),
    ),
    (
        C.INFRASTRUCTURE,
        1.5,
        (
            r"\bcpu\b|memory|\bload\b|\bnodes?\b|\bpods?\b|container|"
            r"storage|backup|replicas|cluster|reboot|saturat"
        ),
    ),
    (C.APPLICATION, 3.0, r"heap|garbage collect|\bgc\b"),
    (
        C.APPLICATION,
        1.5,
        (
            r"errors?\b|latency|timeouts?|requests?\b|\bdown\b|queue|backlog|"
            r"function name"
        ),
    ),
]
FAMILIES = [(c, w, re.compile(p)) for c, w, p in _RAW_FAMILIES]

_TOKEN = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+[xX]{2}(?![a-z])|\d+")
# Label keys every alert carries: they say nothing about the category.
_GENERIC_KEYS = frozenset(
    word_list(
        "alertname severity instance job namespace service env environment cluster pod "
        "prometheus receiver region team priority app exported_job"
    )
)
# Labels that name the emitting system. `container` is not one: sidecars (nginx, envoy) lie.
SOURCE_LABELS = (
    "job",
    "exporter",
    "component",
    "source",
    "integration",
    "provider",
    "dependency",
    "app_kubernetes_io_name",
)
_NOISE_WORDS = frozenset(["exporter", "exporters", "metrics", "monitor", "monitoring"])


def name_words(name: str) -> list[str]:
    """An alert or label name as lower-case words: CamelCase, snake, kebab, dots and digits
    split; product words that authors split (`Core DNS`, `Rabbit MQ`) or glue to the next word
    (`VLLMKV`) put back as the product."""
    out: list[str] = []
    for raw in _TOKEN.findall(name):
        tok = raw.lower()
        if out and out[-1] + tok in _JOINABLE:
            out[-1] += tok
            continue
        # Only acronyms glued together (VLLMKV, GPUECC) are split, never ordinary words.
        glued = raw.isupper() and tok not in _JOINABLE
        prefix = next((p for p in _PREFIXES if glued and tok.startswith(p) and tok != p), None)
        if prefix and tok[len(prefix) :].isalpha():
            out += [prefix, tok[len(prefix) :]]
        else:
            out.append(tok)
    return out


def hint_text(title: str, labels: dict[str, str]) -> str:
    """The strong-evidence zone: alert name, source label values and non-generic label keys."""
    parts = [" ".join(name_words(title))]
    for key in SOURCE_LABELS:
        if labels.get(key):
            parts.append(" ".join(w for w in name_words(labels[key]) if w not in _NOISE_WORDS))
    keys = [k for k in labels if k.lower() not in _GENERIC_KEYS]
    parts += [" ".join(name_words(k)) for k in keys]
    return " ".join(parts)


def category_evidence(hints: str, body: str) -> dict[C, float]:
    """Evidence per category: its strongest item plus `EXTRA_SHARE` of the others; an item
    counts fully in `hints` and `BODY_SHARE` in `body` only. Taking the strongest item (not the
    sum) keeps a pile of generic infrastructure words from outvoting one specific family."""
    items: dict[C, list[float]] = {}
    for category, weight in _product_weights(hints, body):
        items.setdefault(category, []).append(weight)
    for category, weight, rx in FAMILIES:
        share = 1.0 if rx.search(hints) else BODY_SHARE if rx.search(body) else 0.0
        if share:
            items.setdefault(category, []).append(weight * share)
    return {c: max(ws) + EXTRA_SHARE * (sum(ws) - max(ws)) for c, ws in items.items()}


def _product_weights(hints: str, body: str) -> list[tuple[C, float]]:
    """Each category's strongest product word (one product per category counts once)."""
    best: dict[C, float] = {}
    for zone, share in ((hints, 1.0), (body, BODY_SHARE)):
        for word in zone.split():
            found = PRODUCTS.get(word)
            if found:
                best[found[0]] = max(best.get(found[0], 0.0), found[1] * share)
    return list(best.items())
