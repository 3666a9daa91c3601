from datetime import UTC, datetime, timedelta

from workflows.domain.correlation import (
    CorrelationKind,
    NewAlert,
    OpenIncident,
    correlate,
    cosine_similarities,
    upstream_distance,
    words,
)

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
GRAPH = {"web": ["checkout"], "checkout": ["payments-db"], "search": ["search-index"]}


def incident(iid, title, service, *, minutes_ago=2, description="", scope=None):
    at = T0 - timedelta(minutes=minutes_ago)
    return OpenIncident(
        incident_id=iid,
        title=title,
        description=description,
        service=service,
        scope=scope or {},
        opened_at=at,
        last_alert_at=at,
    )


def alert(title, service, *, description="", scope=None, at=T0):
    return NewAlert(
        alert_id="al_1",
        title=title,
        description=description,
        service=service,
        scope=scope or {},
        at=at,
    )


def test_words_split_camel_case_alert_names_and_drop_numbers():
    assert words("KubePodCrashLooping on pod-123") == ["kube", "pod", "crash", "looping", "pod"]
    assert words("HTTPErrorRate") == ["http", "error", "rate"]


def test_identical_text_scores_one_and_unrelated_text_zero():
    assert cosine_similarities("disk full on db", ["disk full on db", "gpu hot"]) == [1.0, 0.0]


def test_a_rephrased_alert_for_the_same_service_merges_and_says_why():
    open_ = [
        incident(
            "inc_1",
            "Checkout HTTP 5xx error rate high",
            "checkout",
            description="checkout returns 5xx errors for 8% of requests",
        )
    ]
    new = alert(
        "checkout 5xx error rate elevated",
        "checkout",
        description="5xx errors on checkout requests",
    )
    decision = correlate(new, open_, GRAPH)
    assert decision.kind is CorrelationKind.MERGE
    assert decision.incident_id == "inc_1"
    assert decision.rule == "near_duplicate" and "al_1" in decision.reason


def test_look_alike_alerts_in_two_clusters_never_merge():
    open_ = [incident("inc_1", "High latency on search", "search", scope={"cluster": "eu"})]
    new = alert("High latency on search", "search", scope={"cluster": "us"})
    assert correlate(new, open_, GRAPH).kind is CorrelationKind.NEW


def test_same_text_for_a_different_service_is_not_a_duplicate():
    open_ = [incident("inc_1", "High latency", "search")]
    assert correlate(alert("High latency", "billing"), open_, GRAPH).kind is CorrelationKind.NEW


def test_a_symptom_downstream_links_to_the_root_and_does_not_page():
    open_ = [incident("inc_db", "PostgresqlTooManyConnections", "payments-db")]
    decision = correlate(alert("HighErrorRate", "web"), open_, GRAPH)
    assert decision.kind is CorrelationKind.LINK
    assert decision.incident_id == "inc_db"
    assert not decision.pages
    assert "2 hop" in decision.reason


def test_a_root_arriving_after_its_symptoms_adopts_them():
    open_ = [incident("inc_web", "HighErrorRate", "web"), incident("inc_s", "Slow", "search")]
    decision = correlate(alert("PostgresqlDown", "payments-db"), open_, GRAPH)
    assert decision.kind is CorrelationKind.ADOPT
    assert decision.symptoms == ["inc_web"]


def test_a_recurrence_hours_later_is_a_new_incident():
    open_ = [incident("inc_1", "Disk full", "checkout", minutes_ago=240)]
    assert correlate(alert("Disk full", "checkout"), open_, GRAPH).kind is CorrelationKind.NEW


def test_upstream_distance_is_bounded_and_directional():
    assert upstream_distance(GRAPH, "web", "payments-db") == 2
    assert upstream_distance(GRAPH, "payments-db", "web") is None


def test_an_adoption_says_how_far_upstream_each_symptom_is():
    open_ = [incident("inc_web", "HighErrorRate", "web"), incident("inc_co", "Slow", "checkout")]
    decision = correlate(alert("PostgresqlDown", "payments-db"), open_, GRAPH)
    assert decision.kind is CorrelationKind.ADOPT and decision.rule == "cascade"
    assert decision.symptoms == ["inc_co", "inc_web"]
    assert decision.score == 1.0  # the nearest symptom is one hop away
    assert "inc_co (checkout, 1 hop(s))" in decision.reason
    assert "inc_web (web, 2 hop(s))" in decision.reason and "al_1" in decision.reason
