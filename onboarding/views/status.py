"""What each platform holds, in words staff read at a glance: one badge per platform
per object, from the outbox rows (SyncRecord), read in a fixed number of queries.

Badge states, worst first: needs attention, missing on <platform> (the last comparison
found it gone: Re-create), failed (with the platform's reason), differs on <platform>
(ours beside theirs), not sent: <why> (a change the platform cannot take), waiting to
retry at … (an attempt failed and the next is scheduled), in flight (on its way now),
waiting for its parent (the building or unit must reach the platform first), synced. A
badge says synced only while the last push and the last comparison agree. A platform
that does not take a kind of object shows no badge for it.
"""

from collections import defaultdict, namedtuple
from dataclasses import dataclass, field
from html import escape

from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format, time_format
from django.utils.safestring import mark_safe
from django.utils.text import Truncator
from django.utils.timesince import timeuntil
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from providers import registry

from .. import sync_words
from ..models import Device, Invite, Meter, Space, SyncRecord, TenantUser, Vehicle

State = SyncRecord.State
RemoteState = SyncRecord.RemoteState

# Worst first: the badge of several rows is the worst of them.
ORDER = [
    "needs_attention", "missing", "failed", "differs", "not_sent", "retrying", "in_flight",
    "waiting", "synced",
]  # fmt: skip
# Each alternative on its own, not "synced and (this or that)": every branch of the OR
# then has an index of its own (SyncRecord's syncrecord_state_remote and
# syncrecord_not_sent) instead of a scan of every synced row.
NOT_SENT = Q(state=State.SYNCED, remote_state=RemoteState.NOT_SENT) | (
    Q(state=State.SYNCED) & ~Q(not_sent="")
)
STATE_FILTERS = {
    "needs_attention": Q(state=State.NEEDS_ATTENTION),
    "missing": Q(state=State.NEEDS_ATTENTION, remote_state=RemoteState.MISSING),
    "failed": Q(state=State.FAILED),
    "differs": Q(state=State.SYNCED, remote_state=RemoteState.DIFFERS),
    "not_sent": NOT_SENT,
    "retrying": Q(state=State.PENDING, attempts__gt=0),
    "in_flight": Q(state=State.IN_FLIGHT) | Q(state=State.PENDING, attempts=0),
    "synced": Q(state=State.SYNCED, remote_state=RemoteState.SAME, not_sent=""),
}


def state_labels() -> dict[str, str]:
    return {
        "needs_attention": _("needs attention"),
        "missing": _("missing there"),
        "failed": _("failed"),
        "differs": _("differs there"),
        "not_sent": _("not sent"),
        "retrying": _("waiting to retry"),
        "in_flight": _("in flight"),
        "synced": _("synced"),
    }


def gone_remotely(row) -> bool:
    """A row whose object the platform answered 404 for (deleted there): Retry looks for
    it, then creates it again. Not a create that got no answer."""
    return bool(
        row.outcome_unknown and not row.remote_id and row.last_error.startswith("Deleted on ")
    )


def parent_missing(row) -> bool:
    """Refused with 404 before it ever reached the platform: what it belongs to is not
    there (its unit or tenant was deleted there), not data to fix."""
    return (
        row.state == State.FAILED
        and not row.remote_id
        and row.operation == SyncRecord.Operation.UPSERT
        and " 404" in row.last_error[:400]
    )


def attention_words(row) -> str:
    """A row's state for the needs-attention list, in the page's language."""
    if row.waiting_for_parent:
        return _("waits for what it belongs to")
    if parent_missing(row):
        return _("failed: what it belongs to is missing there")
    if gone_remotely(row):
        return _("deleted on the platform")
    if row.state == State.FAILED:
        return _("failed (fix the data)")
    return _("needs attention")


def optional_model(name: str):
    """A model another part of the portal adds (Spark's Resource), or None."""
    try:
        return apps.get_model("onboarding", name)
    except LookupError:
        return None


def tenant_models() -> list:
    """What hangs off a tenant: meters, vehicles, and resources where they exist."""
    return [m for m in (Meter, Vehicle, optional_model("Resource")) if m is not None]


def unit_children() -> list[tuple]:
    """(model, path from it to its unit) for everything that lives in a unit."""
    return [
        (Device, "space"),
        (TenantUser, "unit"),
        (Invite, "space"),
        *[(model, "tenant__unit") for model in tenant_models()],
    ]


def kind(row: SyncRecord, now) -> str:
    if row.state == State.NEEDS_ATTENTION and row.remote_state == RemoteState.MISSING:
        return "missing"
    if row.state == State.SYNCED:
        if row.remote_state == RemoteState.DIFFERS:
            return "differs"
        if row.remote_state == RemoteState.NOT_SENT or row.not_sent:
            return "not_sent"
    if row.state == State.PENDING:
        if row.waiting_for_parent or (row.queued_at is None and row.attempts == 0):
            return "waiting"
        if row.attempts and row.not_before and row.not_before > now:
            return "retrying"
        return "in_flight"
    return row.state


def relative(when, now) -> str:
    """ "in 4 seconds", "in 3 minutes": seconds count while a retry is that close."""
    seconds = int((when - now).total_seconds())
    if seconds <= 0:
        return _("due now")
    if seconds < 60:
        return ngettext("in %(n)s second", "in %(n)s seconds", seconds) % {"n": seconds}
    return _("in %(time)s") % {"time": timeuntil(when, now)}


@dataclass
class Badge:
    platform: str
    label: str
    state: str  # a css class and a key of ORDER
    text: str
    reason: str = ""
    title: str = ""  # the absolute time, when the text gives a relative one
    total: int = 1
    row_ids: list[int] = field(default_factory=list)  # rows a retry would send again

    def html(self) -> str:
        """The badge as a list item, escaped here (not by a template include per badge: a
        page of hundreds of units then renders in a few milliseconds)."""
        title = f' title="{escape(self.title)}"' if self.title else ""
        reason = (
            f'<span class="reason">{escape(Truncator(self.reason).chars(240))}</span>'
            if self.reason
            else ""
        )
        if self.state in NAMES_PLATFORM:  # "missing on Zählerfreunde" says whose
            return f'<li class="badge {self.state}"{title}>{escape(self.text)}{reason}</li>'
        return (
            f'<li class="badge {self.state}"{title}><span class="platform">'
            f"{escape(self.label)}</span>: {escape(self.text)}{reason}</li>"
        )

    @property
    def settled(self) -> bool:
        return self.state not in ("in_flight", "waiting", "retrying")

    @property
    def retryable(self) -> bool:
        return self.state in RETRYABLE and bool(self.row_ids)


RETRYABLE = ("needs_attention", "missing", "failed", "retrying")
NAMES_PLATFORM = ("missing", "differs")


def differences_text(diff: dict | None, *, why: bool = False) -> str:
    """ "name: ours “Flat 3”, theirs “Flat 3 (renamed)”" for each field that differs;
    with `why`, also why a field cannot be sent (a push would not mend it)."""
    parts = []
    for key, change in (diff or {}).items():
        part = _("%(field)s: ours “%(ours)s”, theirs “%(theirs)s”") % {
            "field": sync_words.translate(change.get("label", key)),
            "ours": _shown(change.get("ours")),
            "theirs": _shown(change.get("theirs")),
        }
        if why and change.get("why"):
            why_not = sync_words.translate(change["why"])
            part += " (" + _("cannot be sent: %(why)s") % {"why": why_not} + ")"
        parts.append(part)
    return "; ".join(parts)


def _shown(value) -> str:
    if value is None or value == "":
        return "—"
    if value is True or value is False:
        return _("yes") if value else _("no")
    return str(value)


def not_sent_reason(row) -> str:
    """Why a change did not reach the platform: the handler's word, or what the last
    comparison found it keeps from the create."""
    if row.not_sent:
        return sync_words.translate(row.not_sent)
    whys = [c.get("why", "") for c in (row.remote_diff or {}).values() if c.get("why")]
    return " ".join(sync_words.translate(why) for why in dict.fromkeys(whys))


def badge(platform: str, rows: list[SyncRecord], now=None, disconnected=()) -> Badge:
    """One platform's badge for one object, or for an object and what it contains."""
    now = now or timezone.now()
    label = registry.label(platform)
    if not rows:
        return Badge(platform, label, "none", _("not sent yet"), total=0)
    kinds = [kind(row, now) for row in rows]  # each row's kind worked out once
    by_kind = defaultdict(list)
    for row, row_kind in zip(rows, kinds, strict=True):
        by_kind[row_kind].append(row)
    worst = next(k for k in ORDER if k in by_kind)
    chosen = by_kind[worst]
    first = chosen[0]
    count = len(chosen)
    total = len(rows)
    prefix = (
        ngettext("%(n)s of %(total)s ", "%(n)s of %(total)s ", total) % {"n": count, "total": total}
        if total > 1 and worst != "synced"
        else ""
    )
    title = ""
    reason = ""
    if worst == "synced":
        text = _("synced") if total == 1 else _("all %(total)s synced") % {"total": total}
    elif worst == "in_flight":
        text = prefix + _("in flight")
    elif worst == "waiting":
        text = prefix + _("waiting for its building or unit")
    elif worst == "retrying":
        retry_at = min(r.not_before for r in chosen)
        text = prefix + _("waiting to retry at %(time)s (%(relative)s)") % {
            "time": time_format(timezone.localtime(retry_at), "TIME_FORMAT"),
            "relative": relative(retry_at, now),
        }
        title = date_format(timezone.localtime(retry_at), "DATETIME_FORMAT")
        reason = sync_words.translate(first.last_error)
    elif worst == "failed":
        text = prefix + _("failed")
        reason = sync_words.translate(first.last_error) or _("The platform gave no reason.")
    elif worst == "missing":
        text = prefix + _("missing on %(platform)s") % {"platform": label}
        reason = sync_words.translate(first.last_error)
    elif worst == "differs":
        text = prefix + _("differs on %(platform)s") % {"platform": label}
        reason = differences_text(first.remote_diff)
    elif worst == "not_sent":
        text = prefix + _("not sent: %(why)s") % {"why": not_sent_reason(first)}
    else:
        text = prefix + _("needs attention")
        reason = sync_words.translate(first.last_error) or _("The platform gave no reason.")
    if platform in disconnected and worst in ("in_flight", "waiting", "retrying"):
        # Nothing goes while the platform refuses our credentials: say so, not "in flight".
        worst, text = "needs_attention", prefix + _("paused: not connected")
        reason = _(
            "%(platform)s is not connected (credentials refused, or never connected); "
            "see its connection on the dashboard."
        ) % {"platform": label}
    # A row the platform cannot move would only fail again: its page offers the fixes.
    retry_ids = [
        r.pk
        for r, k in zip(rows, kinds, strict=True)
        if k in RETRYABLE and getattr(r, "remote_state", "") != RemoteState.CANNOT_MOVE
    ]
    return Badge(platform, label, worst, text, reason, title, total, retry_ids)


def badges_html(badges_: list[Badge]):
    items = [b.html() for b in badges_] or [
        f'<li class="badge none">{escape(_("no platform takes this"))}</li>'
    ]
    # Every value in it went through escape() above.
    return mark_safe(f'<ul class="badges" role="list">{"".join(items)}</ul>')  # noqa: S308


# What a badge reads of a row: a tuple is a tenth of the cost of a model instance, and
# a dashboard page reads hundreds of rows.
LIGHT_FIELDS = (
    "pk", "content_type_id", "object_id", "provider", "state", "attempts", "not_before",
    "queued_at", "waiting_for_parent", "last_error", "remote_state", "remote_diff", "not_sent",
)  # fmt: skip
LightRow = namedtuple("LightRow", LIGHT_FIELDS)


def rows_for(objects_by_model: dict, *, light: bool = False) -> dict[tuple, list]:
    """{(model, pk): [rows]} for {model: [pks]}, in one query (tuples when `light`)."""
    query = Q(pk__in=[])
    types = ContentType.objects.get_for_models(*objects_by_model)
    for model, pks in objects_by_model.items():
        if pks:
            query |= Q(content_type=types[model], object_id__in=list(pks))
    model_of = {ct.pk: model for model, ct in types.items()}
    found = defaultdict(list)
    rows = SyncRecord.objects.filter(query, provider__in=registry.enabled()).defer(
        "attempt_payload"
    )
    rows = rows.order_by("provider", "pk")
    if light:
        rows = (LightRow(*values) for values in rows.values_list(*LIGHT_FIELDS))
    for row in rows:
        found[model_of[row.content_type_id], row.object_id].append(row)
    return found


def platforms_for(model) -> list[str]:
    return registry.providers_for(model)


def unit_platforms() -> list[str]:
    """Platforms taking a unit or anything in it (read-only catalogues take nothing)."""
    models = [Space, *[model for model, _path in unit_children()]]
    return [
        name for name in registry.enabled() if any(m in registry.handlers(name) for m in models)
    ]


def badges(rows: list[SyncRecord], platforms: list[str], now=None, disconnected=()) -> list[Badge]:
    by_platform = defaultdict(list)
    for row in rows:
        by_platform[row.provider].append(row)
    return [badge(p, by_platform[p], now, disconnected) for p in platforms]


def disconnected_platforms() -> set[str]:
    from ..models import ProviderConnection

    return set(
        ProviderConnection.objects.filter(
            status=ProviderConnection.Status.DISCONNECTED
        ).values_list("provider", flat=True)
    )


def unit_contents(unit_pks: list[int] = (), *, buildings: list[int] = ()) -> dict[int, dict]:
    """{unit pk: {model: [pks]}} for everything living in the units, or in every unit of
    the `buildings`: one query a model."""
    contents: dict[int, dict] = defaultdict(lambda: defaultdict(list))
    for model, path in unit_children():
        where = {f"{path}__parent_id__in": buildings} if buildings else {f"{path}__in": unit_pks}
        for pk, unit_pk in model.objects.filter(**where).values_list("pk", path):
            contents[unit_pk][model].append(pk)
    return contents


def all_settled(badge_lists) -> bool:
    return all(b.settled for badges_ in badge_lists for b in badges_)


def space_children_q(states: Q, provider: str | None) -> Q:
    """Units having a row in `states` (on `provider`), on themselves or anything in them."""
    from django.db.models import Exists, OuterRef

    def matching(model):
        rows = SyncRecord.objects.filter(
            states, content_type=ContentType.objects.get_for_model(model)
        )
        if provider:
            rows = rows.filter(provider=provider)
        return rows

    query = Q(Exists(matching(Space).filter(object_id=OuterRef("pk"))))
    for model, path in unit_children():
        inner = model.objects.filter(**{path: OuterRef("pk")}).filter(
            Exists(matching(model).filter(object_id=OuterRef("pk")))
        )
        query |= Q(Exists(inner))
    return query
