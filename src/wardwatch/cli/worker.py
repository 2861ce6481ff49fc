"""``wardwatch worker``: run jobs from the PostgreSQL queue; ``wardwatch jobs list|cancel``: follow and stop jobs."""

from __future__ import annotations

import typer

from wardwatch.cli._context import UsageError, engine, run, run_checked, settings, stdout
from wardwatch.cli._output import print_json, print_table
from wardwatch.domain.permissions import SYSTEM
from wardwatch.domain.remediation import TransitionRefused

jobs_app = typer.Typer(
    help="Background jobs: list them (failed: the dead letters) and cancel them.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add ``worker`` and ``jobs`` to the root command."""
    app.command("worker")(worker)
    app.add_typer(jobs_app, name="jobs")


def worker(
    concurrency: int = typer.Option(1, "--concurrency", "-c", help="Jobs run at the same time by this process."),
    once: bool = typer.Option(False, "--once", help="Run the jobs waiting now, then exit (cron, tests)."),
) -> None:
    """Run background jobs (uploads, imports) from the queue in PostgreSQL, and deliver scheduled reports.

    Needs WARDWATCH_QUEUE=postgres and a PostgreSQL WARDWATCH_DATABASE_URL, the same as `wardwatch serve`.  Start as
    many workers, on as many machines, as you like; SIGTERM or Ctrl+C lets the running jobs finish first.  A worker
    that dies mid-job loses nothing: after WARDWATCH_WORKER_STALLED_SECONDS another worker runs the job again."""
    from wardwatch.services.job_queue import run_worker  # noqa: PLC0415 - procrastinate only for workers
    from wardwatch.store.database import ensure_ready  # noqa: PLC0415

    config = settings()
    run_checked(config.check_queue)
    if config.queue != "postgres":
        run(_refuse, "wardwatch worker needs WARDWATCH_QUEUE=postgres; with the default (inprocess) `wardwatch serve` "
            "runs the jobs itself")  # fmt: skip
    database = run(engine)
    run(ensure_ready, database)
    stdout.print(
        f"Worker running jobs from the queue (concurrency {concurrency}){'' if once else '; Ctrl+C stops it'}."
    )
    run_checked(run_worker, database, config, concurrency=concurrency, once=once)


def _refuse(message: str) -> None:
    raise UsageError(message)


@jobs_app.command("list")
def list_command(
    status: str | None = typer.Option(None, "--status", help="queued, running, succeeded, failed or cancelled."),
    limit: int = typer.Option(50, "--limit", min=1, max=1000, help="How many of the newest jobs."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """The newest jobs; `--status failed` lists the dead letters with their attempts and last error."""
    from wardwatch.services.jobs import list_jobs  # noqa: PLC0415

    rows, total = run_checked(list_jobs, run(engine), SYSTEM, limit=limit, status=status)
    if as_json:
        print_json({"items": rows, "total": total})
        return
    print_table(rows, ["id", "kind", "file", "status", "attempts", "message", "created_by"], title=f"{total} jobs")


@jobs_app.command("cancel")
def cancel_command(
    job_id: int = typer.Argument(..., min=1, help="The job's number."),
    as_json: bool = typer.Option(False, "--json", help="Print the job as JSON."),
) -> None:
    """Cancel a job: a queued one never runs; a running one stops at its next progress report."""
    from wardwatch.services.jobs import cancel  # noqa: PLC0415

    def cancelled() -> dict[str, object]:
        try:
            return cancel(run(engine), SYSTEM, job_id)
        except TransitionRefused as e:
            raise UsageError(str(e)) from e

    job = run(cancelled)
    if as_json:
        print_json(job)
    elif job["status"] == "cancelled":
        stdout.print(f"Job {job_id} cancelled before it ran.")
    else:
        stdout.print(f"Job {job_id} is {job['status']}: asked to stop; it ends cancelled at its next progress report.")
