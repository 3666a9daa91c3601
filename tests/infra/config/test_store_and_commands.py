"""The applied configuration in a real SQLite database, and the CLI-facing commands."""

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlmodel import SQLModel, create_engine

from infra.config.commands import apply_command, check_command, export_command
from infra.config.loader import ConfigInvalid, load_config_file
from infra.config.store import ConfigConflict, ConfigStore
from infra.db.tables.config import ConfigVersionRow

FIXTURES = Path(__file__).parents[2] / "fixtures" / "config"
EXAMPLE = Path(__file__).parents[3] / "examples" / "lim.yaml"
MINIMAL = FIXTURES / "good" / "minimal.yaml"


@pytest.fixture
def engine(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path}/t.db")
    SQLModel.metadata.create_all(engine, tables=[ConfigVersionRow.__table__])
    yield engine
    engine.dispose()


def test_nothing_is_current_before_the_first_apply(engine):
    assert ConfigStore(engine).current() is None


def test_each_apply_stores_the_next_version_with_who_and_when(engine):
    at = datetime(2025, 7, 1, 12, tzinfo=UTC)
    store = ConfigStore(engine, clock=lambda: at)
    assert store.apply(load_config_file(MINIMAL), "ana") == 1
    assert store.apply(load_config_file(EXAMPLE), "ben") == 2
    current = store.current()
    assert (current.version, current.applied_by, current.applied_at) == (2, "ben", at)
    assert current.document == load_config_file(EXAMPLE)
    assert store.get(1).document == load_config_file(MINIMAL)


def test_applying_the_current_document_again_changes_nothing(engine):
    store = ConfigStore(engine)
    doc = load_config_file(EXAMPLE)
    assert store.apply(doc, "ana") == store.apply(doc, "ana") == 1


def test_an_apply_based_on_a_stale_version_is_a_conflict_not_a_lost_update(engine):
    store = ConfigStore(engine)
    assert store.apply(load_config_file(MINIMAL), "ana", based_on=0) == 1
    with pytest.raises(ConfigConflict, match="from version 0 to 1"):
        store.apply(load_config_file(EXAMPLE), "ben", based_on=0)  # ben read before ana wrote
    assert store.apply(load_config_file(EXAMPLE), "ben", based_on=1) == 2


def test_check_command_passes_a_good_file_and_lists_problems_with_lines_for_a_bad_one():
    code, text = check_command(EXAMPLE)
    assert code == 0 and "OK" in text and "5 users" in text
    bad = FIXTURES / "bad" / "dangling-route-policy.yaml"
    code, text = check_command(bad)
    assert code == 1
    assert f"{bad}:9: routes[1].escalation_policy: unknown escalation policy" in text
    assert text.endswith(f"1 problem in {bad}")


def test_check_command_warns_about_schedule_gaps_without_failing(tmp_path):
    config = tmp_path / "gappy.yaml"
    config.write_text(
        "users: [{id: ana}]\n"
        "schedules:\n"
        "  - id: office-only\n"
        "    layers:\n"
        "      - {id: l, start: 2025-01-06, participants: [ana],\n"
        "         restrictions: [{days: mon-fri, start: '09:00', end: '17:00'}]}\n"
    )
    code, text = check_command(config, now=datetime(2025, 7, 7, tzinfo=UTC))
    assert code == 0
    # 14 days = 336h, of which ten weekdays x 8h are covered.
    assert "warning: schedule 'office-only' has nobody on call for 10d16h" in text
    assert "(first gap from 2025-07-07 00:00 UTC)" in text
    assert check_command(EXAMPLE, now=datetime(2025, 7, 7, tzinfo=UTC))[1].count("warning") == 0


def test_apply_command_shows_the_diff_and_dry_run_stores_nothing(engine):
    text = apply_command(engine, EXAMPLE, "ana", dry_run=True)
    assert "+ user ana" in text and "Dry run: nothing applied." in text
    assert ConfigStore(engine).current() is None
    assert "Applied as version 1 by ana." in apply_command(engine, EXAMPLE, "ana")
    again = apply_command(engine, EXAMPLE, "ana")
    assert again == "No changes.\nVersion 1 stays current."


def test_apply_command_refuses_a_file_with_problems(engine):
    with pytest.raises(ConfigInvalid, match=":9: routes"):
        apply_command(engine, FIXTURES / "bad" / "dangling-route-policy.yaml", "ana")
    assert ConfigStore(engine).current() is None


def test_export_command_gives_back_the_applied_document(engine, tmp_path):
    assert export_command(engine).strip() == "version: 1"
    apply_command(engine, EXAMPLE, "ana")
    exported = tmp_path / "exported.yaml"
    exported.write_text(export_command(engine))
    assert load_config_file(exported) == load_config_file(EXAMPLE)
