"""The drift page: per platform, when it was last compared with what we hold, and what
is missing there, extra there or different, each with its one-click fix; what was fixed
(or settled by a person), by whom and when.

The page never calls a platform: "Compare now" hands the comparison to a worker (the
same task beat runs) and the page polls until it has finished; each fix goes through
the outbox (onboarding/sync/reconcile/fixes.py).
"""

from collections import defaultdict

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from providers import registry

from .. import sync_words
from ..models import Comparison, Drift, SyncRecord
from ..sync.reconcile import fixes, platforms
from ..sync.reconcile.tasks import compare_platforms
from . import status
from .access import page
from .rendering import page_or_fragment
from .sync import safe_next

RemoteState = SyncRecord.RemoteState
RECENTLY_FIXED = 20
SHOWN_A_KIND = 100  # open drifts listed per kind and platform; the rest are counted
KINDS = [Drift.Kind.MISSING, Drift.Kind.EXTRA, Drift.Kind.DIFFERENT]
# Asked for a comparison this long ago and none has finished since: still running.
COMPARING_FOR = 600


def fixes_for(drift: Drift) -> list[tuple[str, str]]:
    """(action, button label) a person may choose for an open drift."""
    row = drift.sync_record
    if drift.settled_by_person:
        return []
    if drift.kind == Drift.Kind.MISSING:
        return [("recreate", _("Re-create"))]
    if drift.kind == Drift.Kind.EXTRA:
        if drift.adoptable:
            return [("adopt", _("Adopt as ours")), ("leave", _("Leave it"))]
        return [("leave", _("Leave it (not ours)"))]
    if row is not None and row.remote_state == RemoteState.CANNOT_MOVE:
        return cannot_move_fixes(row)
    pushable = any(not change.get("why") for change in drift.details.values())
    if pushable:
        return [("push", _("Send ours")), ("accept", _("Accept as is"))]
    return [("accept", _("Accept as is"))]


def cannot_move_fixes(row: SyncRecord) -> list[tuple[str, str]]:
    """What can be done with a row the platform cannot move (no Retry: it would fail)."""
    handler = registry.handler(row.provider, row.content_type.model_class())
    choices = [("accept_where", _("Accept where it is"))]
    if handler is not None and handler.supports_delete:
        choices.insert(0, ("recreate_parent", _("Re-create under the new parent")))
    return choices


def row_fixes(row: SyncRecord) -> list[tuple[str, str]]:
    """The fixes offered beside a row a Retry cannot mend (a missing row's Retry is its
    Re-create): a move the platform cannot make, a difference, a change not sent."""
    if row.remote_state == RemoteState.CANNOT_MOVE:
        return cannot_move_fixes(row)
    if row.state == SyncRecord.State.SYNCED and row.remote_state == RemoteState.DIFFERS:
        return [("push", _("Send ours")), ("accept", _("Accept as is"))]
    if row.state == SyncRecord.State.SYNCED and (
        row.remote_state == RemoteState.NOT_SENT or row.not_sent
    ):
        return [("accept", _("Accept as is"))]
    return []


def open_extras() -> int:
    """Objects the platforms hold that we do not know and no one has settled yet."""
    return (
        Drift.objects.filter(kind=Drift.Kind.EXTRA, resolved_at=None, provider__in=platforms())
        .exclude(fix__in=Drift.SETTLED_BY_PERSON)
        .count()
    )


def platform_sections() -> list[dict]:
    names = platforms()
    latest = {}
    for comparison in Comparison.objects.filter(provider__in=names).order_by("-started_at")[:200]:
        latest.setdefault(comparison.provider, comparison)
    open_drifts = (
        Drift.objects.filter(provider__in=names, resolved_at=None)
        .select_related("sync_record__content_type", "content_type")
        .order_by("-last_seen_at")
    )
    open_by = defaultdict(lambda: defaultdict(list))
    counts = defaultdict(lambda: defaultdict(int))
    settled_by = defaultdict(list)
    for drift in open_drifts:
        drift.shown = shown_details(drift)
        if drift.settled_by_person:
            settled_by[drift.provider].append(drift)
            continue
        counts[drift.provider][drift.kind] += 1
        if len(open_by[drift.provider][drift.kind]) < SHOWN_A_KIND:
            drift.fixes = fixes_for(drift)
            open_by[drift.provider][drift.kind].append(drift)
    fixed_by = defaultdict(list)
    for name in names:
        fixed_by[name] = list(
            Drift.objects.filter(provider=name, fixed_at__isnull=False).order_by("-fixed_at")[
                :RECENTLY_FIXED
            ]
        )
    sections = []
    for name in names:
        groups = [
            {
                "kind": kind,
                "label": Drift.Kind(kind).label,
                "drifts": open_by[name][kind],
                "count": counts[name][kind],
                "more": counts[name][kind] - len(open_by[name][kind]),
            }
            for kind in KINDS
        ]
        comparison = latest.get(name)
        sections.append(
            {
                "name": name,
                "label": registry.label(name),
                "comparison": comparison,
                # Stored in English (by a worker): shown in the page's language.
                "error": sync_words.translate(comparison.error) if comparison else "",
                "not_listed": [
                    sync_words.translate_labelled(line)
                    for line in (comparison.not_listed if comparison else [])
                ],
                "groups": groups,
                "open": sum(g["count"] for g in groups),
                "settled": settled_by[name],
                "fixed": fixed_by[name],
            }
        )
    return sections


def shown_details(drift: Drift) -> str:
    if drift.kind == Drift.Kind.DIFFERENT:
        return status.differences_text(drift.details, why=True)
    if drift.kind == Drift.Kind.EXTRA:
        held = drift.details.get("fields") or {}
        return ", ".join(f"{k}: {v}" for k, v in held.items() if v not in ("", None))
    return sync_words.translate(drift.details.get("reason", ""))


def comparing() -> bool:
    """A comparison was asked for from this page and has not finished yet."""
    from django.core.cache import cache

    asked = cache.get(ASKED_KEY)
    if asked is None:
        return False
    done = Comparison.objects.filter(finished_at__gte=asked).exists()
    running = (timezone.now() - asked).total_seconds() < COMPARING_FOR
    return running and not done


ASKED_KEY = "reconcile:compare-asked-at"


@page
def drift_page(request):
    context = {"sections": platform_sections(), "comparing": comparing()}
    return page_or_fragment(request, "onboarding/drift.html", "onboarding/_drift.html", context)


@require_POST
@page
def compare_now(request):
    """Hand the comparison to a worker (the page never calls a platform itself)."""
    from django.core.cache import cache

    cache.set(ASKED_KEY, timezone.now(), COMPARING_FOR)
    compare_platforms.delay(started_by=request.user.get_username())
    messages.info(request, _("The platforms are being compared; this page updates itself."))
    return redirect(reverse("pages:drift"))


ROW_ACTIONS = {"recreate", "recreate_parent", "push", "accept_where"}
DRIFT_ACTIONS = {"adopt", "leave"}
ACTIONS = ROW_ACTIONS | DRIFT_ACTIONS | {"accept"}


@require_POST
@page
def fix(request):
    """One fix, by a person, recorded with their name (like "Accept as is")."""
    action = request.POST.get("action", "")
    if action not in ACTIONS:
        raise Http404
    who = request.user.get_username()
    drift, row = _target(request)
    if (row is None and action in ROW_ACTIONS) or (drift is None and action in DRIFT_ACTIONS):
        raise Http404
    if action == "recreate":
        fixes.recreate([row], who=who)
    elif action == "recreate_parent":
        fixes.recreate_under_new_parent(row, who=who)
    elif action == "push":
        parent = (drift.details.get("parent") or {}).get("theirs") if drift else None
        fixes.push_ours(row, remote_parent_id=parent, who=who)
    elif action == "accept_where":
        fixes.accept_where_it_is(row, who=who)
    elif action == "adopt":
        fixes.adopt(drift, who=who)
    elif action == "leave":
        fixes.leave(drift, who=who)
    else:
        fixes.accept(drift or fixes.drift_for(row), who=who)
    messages.success(request, _("Done: %(fix)s.") % {"fix": Drift.Fix(_FIX_OF[action]).label})
    return redirect(safe_next(request, reverse("pages:drift")))


_FIX_OF = {
    "recreate": Drift.Fix.RECREATE,
    "recreate_parent": Drift.Fix.RECREATE_UNDER_PARENT,
    "push": Drift.Fix.PUSH,
    "adopt": Drift.Fix.ADOPT,
    "leave": Drift.Fix.LEAVE,
    "accept": Drift.Fix.ACCEPT,
    "accept_where": Drift.Fix.ACCEPT,
}


def _target(request) -> tuple[Drift | None, SyncRecord | None]:
    """The drift (from the drift page) or the outbox row (from the dashboard) to fix."""
    if request.POST.get("drift", "").isdigit():
        drift = get_object_or_404(Drift, pk=int(request.POST["drift"]), resolved_at=None)
        return drift, drift.sync_record
    if request.POST.get("row", "").isdigit():
        row = get_object_or_404(
            SyncRecord.objects.select_related("content_type"), pk=int(request.POST["row"])
        )
        return Drift.objects.filter(sync_record=row, resolved_at=None).first(), row
    raise Http404
