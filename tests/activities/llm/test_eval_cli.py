"""`lim eval classify|grouping` on bad input: one line naming the file and line, exit 2."""

import json

import pytest
from typer.testing import CliRunner

from worker.cli import app

GOOD_ALERT = {
    "alertname": "KubePodCrashLooping",
    "labels": {"severity": "warning"},
    "category": "infrastructure",
    "severity": "medium",
}


def run(tmp_path, *args):
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path / "lim"), "eval", *args])
    return result.exit_code, result.output


@pytest.mark.parametrize("command", ["classify", "grouping"])
def test_a_missing_file_is_named_in_one_line_and_exits_2(tmp_path, command):
    missing = tmp_path / "nope.jsonl"
    code, out = run(tmp_path, command, str(missing))
    assert code == 2
    assert out.strip() == f"error: {missing}: no such file"


GRAPH_LINE = {"type": "graph", "depends_on": {}}


@pytest.mark.parametrize(("command", "first"), [("classify", GOOD_ALERT), ("grouping", GRAPH_LINE)])
def test_a_line_that_is_not_json_names_its_line_and_exits_2(tmp_path, command, first):
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps(first) + "\n{oops\n")
    code, out = run(tmp_path, command, str(path))
    assert code == 2
    assert out.startswith(f"error: {path} line 2: not JSON (")
    assert "Traceback" not in out and len(out.strip().splitlines()) == 1


def test_a_classify_row_without_labels_names_the_missing_field(tmp_path):
    path = tmp_path / "x.jsonl"
    rows = [GOOD_ALERT, {"alertname": "HostOutOfMemory", "labels": {}}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    code, out = run(tmp_path, "classify", str(path))
    assert code == 2
    assert f"{path} line 2: missing field \"category\"" in out


def test_a_classify_row_with_an_unknown_category_is_rejected(tmp_path):
    path = tmp_path / "x.jsonl"
    path.write_text(json.dumps({**GOOD_ALERT, "category": "hardware"}) + "\n")
    code, out = run(tmp_path, "classify", str(path))
    assert code == 2 and "line 1: unknown category 'hardware'" in out


def test_a_grouping_row_without_a_time_names_the_missing_field(tmp_path):
    path = tmp_path / "s.jsonl"
    row = {"type": "alert", "status": "firing", "labels": {}, "title": "x", "truth": "g1"}
    path.write_text(json.dumps(GRAPH_LINE) + "\n" + json.dumps(row))
    code, out = run(tmp_path, "grouping", str(path))
    assert code == 2 and out.strip() == f'error: {path} line 2: missing field "at"'


def test_an_empty_file_is_reported_not_scored(tmp_path):
    path = tmp_path / "empty.jsonl"
    path.write_text("\n")
    code, out = run(tmp_path, "classify", str(path))
    assert code == 2 and "no rows" in out


def test_a_good_classify_file_still_prints_the_report(tmp_path):
    path = tmp_path / "ok.jsonl"
    path.write_text(json.dumps(GOOD_ALERT) + "\n")
    code, out = run(tmp_path, "classify", str(path))
    assert code == 0 and "accuracy=" in out
