"""Beat pulls every linked Climkit meter (CLIMKIT_PULL_MINUTES)."""

from celery import shared_task

from .pull import pull_all


# The name of the top-level app it came from: queued messages and beat still find it.
@shared_task(name="climkit_pull.tasks.pull_climkit", ignore_result=True)
def pull_climkit() -> str:
    # One run at a time is enough and the budget serialises calls anyway: a run that
    # overlaps the next beat only asks from the cursors the first one moved (expires).
    result = pull_all()
    return f"{result.calls} calls, {result.intervals} intervals, {len(result.errors)} errors"
