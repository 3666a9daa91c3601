"""`lim`: the one command-line entry point. Settings are built once here and passed down."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import typer

from infra.settings import Settings

app = typer.Typer(help="LLM Incident Manager", no_args_is_help=True, add_completion=False)
keys_app = typer.Typer(help="Integration and admin keys", no_args_is_help=True)
config_app = typer.Typer(help="Configuration as code", no_args_is_help=True)
eval_app = typer.Typer(help="Offline evaluations", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(config_app, name="config")
app.add_typer(eval_app, name="eval")

_settings: Settings | None = None


@app.callback()
def _root(data_dir: Path = typer.Option(None, "--data-dir", envvar="LIM_DATA_DIR",
                                        help="Where SQLite, logs and Temporal's DB live (.lim).")):
    global _settings
    _settings = Settings(**({"data_dir": data_dir} if data_dir else {}))
    logging.basicConfig(level=_settings.log_level,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def settings(**overrides) -> Settings:
    base = _settings or Settings()
    return base.model_copy(update={k: v for k, v in overrides.items() if v is not None})


def _engine():
    from infra.db.engine import make_engine
    from infra.db.migrate import upgrade

    s = settings()
    upgrade(s.db_url)
    return make_engine(s.db_url)


@app.command()
def up(data_dir: Path = typer.Option(None, "--data-dir", envvar="LIM_DATA_DIR",
                                     help="Data directory (.lim)"),
       port: int = typer.Option(None, "--port", help="API port (8080)"),
       temporal_port: int = typer.Option(None, "--temporal-port", help="Temporal gRPC port (7233)"),
       ui_port: int = typer.Option(None, "--ui-port", help="Temporal UI port (8233)")):
    """Start the whole stack on loopback: Temporal dev server, migrations, worker and API."""
    from worker.up import run_up

    s = settings(data_dir=data_dir, api_port=port, temporal_port=temporal_port,
                 temporal_ui_port=ui_port)
    if temporal_port:
        s = s.model_copy(update={"temporal_address": f"127.0.0.1:{temporal_port}"})
    raise typer.Exit(run_up(s))


@app.command()
def worker():
    """Run a worker against an existing Temporal and database (production)."""
    from worker.main import run_worker

    asyncio.run(run_worker(settings()))


@app.command()
def api(host: str = typer.Option(None, "--host"), port: int = typer.Option(None, "--port")):
    """Run the API against an existing Temporal and database (production)."""
    import uvicorn

    from api.app import create_app

    s = settings(api_host=host, api_port=port)
    uvicorn.run(create_app(s), host=s.api_host, port=s.api_port, log_level="warning",
                access_log=False)


@app.command()
def migrate():
    """Create or upgrade the database schema (SQLite or PostgreSQL)."""
    from infra.db.migrate import upgrade

    upgrade(settings().db_url)
    typer.echo(f"database at {settings().db_url} is up to date")


@keys_app.command("create")
def keys_create(name: str = typer.Option(..., "--name"),
                scope: str = typer.Option("ingest", "--scope", help="ingest | admin")):
    """Create a key. The secret is printed once, as the last line."""
    from infra.db.repositories import keys

    try:
        key_id, secret = keys.create_key(_engine(), name, scope)
    except ValueError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err
    typer.echo(f"created {scope} key {key_id} ({name}); store this secret now, it is not kept:")
    typer.echo(secret)


@keys_app.command("list")
def keys_list():
    from infra.db.repositories import keys

    for k in keys.list_keys(_engine()):
        state = f"revoked {k['revoked_at']:%Y-%m-%d}" if k["revoked_at"] else "active"
        typer.echo(f"{k['id']}  {k['scope']:<6}  {k['prefix']}…  {state}  {k['name']}")


@keys_app.command("revoke")
def keys_revoke(key_id: str):
    from infra.db.repositories import keys

    if not keys.revoke_key(_engine(), key_id):
        typer.echo(f"error: no active key {key_id}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {key_id}")


@config_app.command("check")
def config_check(file: Path):
    """Validate a configuration file strictly; problems name their line."""
    from infra.config.commands import check_command

    code, text = check_command(file)
    typer.echo(text)
    raise typer.Exit(code)


@app.command("apply")
def config_apply(file: Path, dry_run: bool = typer.Option(False, "--dry-run"),
                 actor: str = typer.Option("cli", "--actor")):
    """Apply a configuration file atomically, showing the diff first."""
    from infra.config.commands import apply_command
    from infra.config.loader import ConfigInvalid
    from infra.config.store import ConfigConflict

    try:
        typer.echo(apply_command(_engine(), file, actor, dry_run))
    except ConfigInvalid as err:
        typer.echo(str(err), err=True)
        raise typer.Exit(1) from err
    except ConfigConflict as err:
        typer.echo(f"{err} (someone applied meanwhile: run again)", err=True)
        raise typer.Exit(1) from err


@config_app.command("export")
def config_export():
    """Print the applied configuration as YAML."""
    from infra.config.commands import export_command

    typer.echo(export_command(_engine()), nl=False)


@eval_app.command("classify")
def eval_classify(file: Path):
    """Accuracy, macro-F1 and confusion matrices of the local classifier on a labelled JSONL file."""
    from activities.llm.evaluation import EvalInputError, evaluate_classifier, render_report

    try:
        report = evaluate_classifier(file)
    except EvalInputError as exc:  # a bad file is the user's to fix: one line, exit 2
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(render_report(report))


@eval_app.command("grouping")
def eval_grouping(file: Path,
                  group_by: str = typer.Option("alertname,service,env", "--group-by",
                                               help="Labels of the dedup key to try (dry run).")):
    """Pairwise precision/recall and noise reduction of grouping on a labelled alert stream.

    Replays the stream through the real grouping rules, so a `group_by` can be tried on recorded
    alerts before it is applied."""
    from activities.llm.evaluation import EvalInputError
    from activities.llm.grouping_eval import evaluate_grouping, render_grouping_report

    try:
        labels = tuple(g.strip() for g in group_by.split(",") if g.strip())
        report = evaluate_grouping(file, group_by=labels)
    except EvalInputError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    typer.echo(render_grouping_report(report))


def main() -> None:
    app()


if __name__ == "__main__":
    main()
