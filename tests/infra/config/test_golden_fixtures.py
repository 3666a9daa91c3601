"""Golden configs: every good file loads cleanly; every bad file reports its problem at its line.

Each bad file states what it expects in header comments: `# expect: <line>: <message part>`.
"""

import re
from pathlib import Path

import pytest

from infra.config.export import export_config
from infra.config.loader import check_config, load_config_file, parse_text

FIXTURES = Path(__file__).parents[2] / "fixtures" / "config"
GOOD = sorted((FIXTURES / "good").glob("*.yaml"))
BAD = sorted((FIXTURES / "bad").glob("*.yaml"))
EXAMPLE = Path(__file__).parents[3] / "examples" / "lim.yaml"


def expectations(path: Path) -> list[tuple[int, str]]:
    found = re.findall(r"^# expect: (\d+): (.+)$", path.read_text(), flags=re.MULTILINE)
    return [(int(line), message) for line, message in found]


@pytest.mark.parametrize("path", [*GOOD, EXAMPLE], ids=lambda p: p.name)
def test_good_config_has_no_problems_and_survives_an_export_round_trip(path):
    assert check_config(path) == []
    doc = load_config_file(path)
    again, problems = parse_text(export_config(doc))
    assert problems == []
    assert again == doc


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_bad_config_reports_each_expected_problem_at_its_line(path):
    expected = expectations(path)
    assert expected, f"{path.name} states no expectation"
    problems = check_config(path)
    for line, message in expected:
        assert any(p.line == line and message in p.message for p in problems), (
            f"{path.name}: wanted line {line}: {message!r}, got "
            + "; ".join(p.render() for p in problems)
        )
    assert len(problems) == len(expected), [p.render() for p in problems]
