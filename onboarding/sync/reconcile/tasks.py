"""The comparison beat runs on a schedule (RECONCILE_MINUTES): read only. A row whose
object is missing there needs attention at once ("missing on <platform>", Re-create
beside it); a difference shows on the badge with both values. Nothing is sent: fixing is
for a person (the drift page) or for `manage.py reconcile --fix`."""

import logging

from celery import shared_task

from . import platforms, run

log = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def compare_platforms(started_by: str = "beat") -> dict[str, str]:
    """`started_by`: "beat", or the login of the person who pressed "Compare now"."""
    outcomes = {}
    for report in run(platforms(), started_by=started_by):
        if not report.readable:
            log.warning("reconcile: %s could not be read: %s", report.label, report.error)
            outcomes[report.platform] = "unreadable"
        else:
            outcomes[report.platform] = f"{len(report.findings)} differ"
    return outcomes
