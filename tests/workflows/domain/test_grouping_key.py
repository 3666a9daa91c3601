from datetime import UTC, datetime

from workflows.domain.alerts import Alert, AlertStatus, AlertTags
from workflows.domain.grouping import MAX_READABLE, dedup_key, key_of, scope_from_key

DEFAULT = ["alertname", "service", "env"]
T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def alert(labels: dict[str, str], **tags) -> Alert:
    return Alert(id="al_1", fingerprint="fp", source="test", status=AlertStatus.FIRING,
                 title=labels.get("alertname", "x"), labels=labels, starts_at=T0,
                 tags=AlertTags(**tags))


def test_an_alert_without_scope_labels_keeps_the_plain_group_by_key():
    key = dedup_key(alert({"alertname": "HighErrorRate"}, service="search", env="prod"), DEFAULT)
    assert key == "HighErrorRate.search.prod"
    assert scope_from_key(key) == {}


def test_look_alikes_in_two_clusters_get_two_keys_under_the_default_group_by():
    def key(cluster):
        labels = {"alertname": "HighErrorRate", "cluster": cluster}
        return dedup_key(alert(labels, service="search", env="prod"), DEFAULT)

    assert key("eu-1") == "HighErrorRate.search.prod.cluster=eu-1"
    assert key("eu-1") != key("us-1")
    assert scope_from_key(key("us-1")) == {"cluster": "us-1"}


def test_a_route_that_does_not_split_by_scope_keeps_one_key_across_clusters():
    # A shared certificate expiring is one problem wherever it fires.
    keys = {dedup_key(alert({"alertname": "CertExpiring", "cluster": c}, service="edge",
                            env="prod"), DEFAULT, split_by_scope=False) for c in ("eu-1", "us-1")}
    assert keys == {"CertExpiring.edge.prod"}


def test_a_scope_label_already_in_group_by_is_not_repeated():
    labels = {"alertname": "A", "cluster": "eu-1", "region": "west"}
    key = dedup_key(alert(labels, env="prod"), ["alertname", "cluster"])
    assert key == "A.eu-1.env=prod.region=west"
    assert scope_from_key(key) == {"env": "prod", "region": "west"}


def test_scope_values_cannot_forge_another_scope_part():
    forged = key_of({"alertname": "A", "cluster": "eu.region=x"}.get, ["alertname"])
    assert scope_from_key(forged) == {"cluster": "eu.region=x"}
    plain_value_with_equals = key_of({"alertname": "cluster=eu"}.get, ["alertname"])
    assert scope_from_key(plain_value_with_equals) == {}


def test_a_long_key_is_hashed_but_keeps_its_scope_readable():
    labels = {"alertname": "X" * 200, "cluster": "eu-1"}
    key = key_of(labels.get, ["alertname"])
    assert len(key) <= MAX_READABLE
    assert key.endswith(".cluster=eu-1") and scope_from_key(key) == {"cluster": "eu-1"}
    other = key_of({**labels, "alertname": "X" * 199 + "Y"}.get, ["alertname"])
    assert other != key
