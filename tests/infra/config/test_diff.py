"""Diffs between configurations: added, removed, changed objects and route order."""

from pathlib import Path

from infra.config.diff import ChangeKind, diff_configs, render_changes
from infra.config.loader import load_config_file
from workflows.domain.config import ConfigDocument, Route, User

EXAMPLE = Path(__file__).parents[3] / "examples" / "lim.yaml"


def test_identical_documents_have_no_changes():
    doc = load_config_file(EXAMPLE)
    assert diff_configs(doc, doc) == []
    assert render_changes([]) == "No changes."


def test_added_removed_and_changed_objects_are_listed_with_their_fields():
    old = load_config_file(EXAMPLE)
    policy = old.policy("ml-default").model_copy(update={"repeat": 2})
    new = old.model_copy(update={
        "users": [u for u in old.users if u.id != "kenji"] + [User(id="zoe")],
        "escalation_policies": [policy, old.policy("ml-critical")],
    })
    changes = {(c.kind, c.object_type, c.id): c.detail for c in diff_configs(old, new)}
    assert (ChangeKind.REMOVED, "user", "kenji") in changes
    assert (ChangeKind.ADDED, "user", "zoe") in changes
    assert changes[(ChangeKind.CHANGED, "escalation policy", "ml-default")] == "repeat 3 -> 2"


def test_route_reordering_is_a_change_because_first_match_wins():
    a, b = Route(id="a", escalation_policy="x"), Route(id="b", escalation_policy="y")
    changes = diff_configs(ConfigDocument(routes=[a, b]), ConfigDocument(routes=[b, a]))
    assert [c.render() for c in changes] == ["~ routes (order): order a, b -> b, a"]


def test_rendering_uses_one_line_per_change():
    text = render_changes(diff_configs(ConfigDocument(), load_config_file(EXAMPLE)))
    assert "+ user ana" in text.splitlines()
    assert "+ route inference-critical" in text
    assert "~ setting default_escalation_policy: '' -> 'ml-default'" in text
