"""Live progress of the last import, per platform: synced / waiting / needs attention
of how many, the rate and an estimate of the end. An htmx fragment that polls itself
every two seconds and stops once every platform has settled; the import's page
(imports.py, import_done.html) includes its slot, which loads it at once."""

from django.shortcuts import render

from .. import progress
from .access import page

POLL_SECONDS = 2


@page
def import_progress(request):
    last = request.session.get("last_import") or {}
    platforms = list(progress.measure(progress.import_rows(last.get("names", []))).values())
    settled = all(p.settled for p in platforms)
    rows = [{"p": p, "eta": progress.eta_text(p)} for p in platforms]
    return render(
        request,
        "onboarding/_sync_progress.html",
        {"rows": rows, "settled": settled, "poll_seconds": POLL_SECONDS},
    )
