"""Reading what a platform holds for us and matching it with what we hold.

Knows no platform: the registry hands over the platform's client and handlers, and each
handler lists its kind of object (`Handler.list_remote`, paged by the client) and names
the fields compared. Everything is matched by remote id first, then by our keys: what we
think is there and is not is *missing*, what is there and we do not know is *extra*
(adoptable when it carries our key for one of our objects that has no remote id, or a
missing one), what is there but otherwise is *different*, field by field.

Nothing here writes: `record.py` keeps what was found, `fixes.py` acts on it.
"""

from dataclasses import dataclass, field

from django.contrib.contenttypes.models import ContentType
from django.utils import timezone, translation

from providers import registry
from providers.errors import NotSupported, ProviderError
from providers.handlers import LISTS_ALL, LISTS_PER_PARENT, Remote

from .. import recorder
from ..models import SyncRecord

Operation = SyncRecord.Operation
State = SyncRecord.State
ON_ITS_WAY = (State.PENDING, State.IN_FLIGHT)
MISSING, EXTRA, DIFFERENT = "missing", "extra", "different"


@dataclass
class Difference:
    key: str
    label: str
    ours: object
    theirs: object
    why: str = ""  # set when a push cannot mend it (the platform keeps it from the create)

    @property
    def pushable(self) -> bool:
        return not self.why

    def as_json(self) -> dict:
        data = {"label": self.label, "ours": self.ours, "theirs": self.theirs}
        if self.why:
            data["why"] = self.why
        return data


@dataclass
class Ours:
    """One of our objects as the platform should hold it."""

    row: SyncRecord
    obj: object
    payload: dict
    parent_id: str | None  # its parent's remote id, "" when the parent has none yet


@dataclass
class Finding:
    kind: str
    model: type
    ours: Ours | None = None
    remote: Remote | None = None
    differences: list[Difference] = field(default_factory=list)
    adoptable: bool = False
    reason: str = ""
    drift: object = None  # the Drift that keeps it (record.py)

    @property
    def row(self) -> SyncRecord | None:
        return self.ours.row if self.ours else None

    @property
    def name(self) -> str:
        if self.ours is not None:
            return str(self.ours.obj)
        return self.remote.describe() if self.remote else "?"

    @property
    def pushable(self) -> bool:
        return any(d.pushable for d in self.differences)

    def describe(self) -> str:
        what = self.model._meta.verbose_name
        if self.kind == MISSING:
            text = f"missing there: {self.name} ({what}, remote id {self.row.remote_id})"
            return f"{text}: {self.reason}" if self.reason else text
        if self.kind == EXTRA:
            whose = f"carries our key for {self.name}" if self.adoptable else "not one we know"
            return f"extra there: {self.remote.describe()} ({what}; {whose})"
        changes = "; ".join(
            f"{d.label}: ours {d.ours!r}, theirs {d.theirs!r}"
            + (f" (cannot be sent: {d.why})" if d.why else "")
            for d in self.differences
        )
        return f"different: {self.name} ({what}): {changes}"


@dataclass
class PlatformReport:
    platform: str
    started_at: object
    finished_at: object = None
    findings: list[Finding] = field(default_factory=list)
    same: list[SyncRecord] = field(default_factory=list)  # rows it holds as we do
    not_listed: list[str] = field(default_factory=list)  # kinds it cannot list, and why
    error: str = ""
    calls: list = field(default_factory=list)

    @property
    def label(self) -> str:
        return registry.label(self.platform)

    @property
    def readable(self) -> bool:
        return not self.error

    def of_kind(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]


def listed_models(platform: str) -> list[tuple[type, object]]:
    """(model, handler) of what the platform can list, parents before their children."""
    handlers = registry.handlers(platform)
    ordered: list = []

    def place(model):
        if model in ordered:
            return
        parent = parent_model(model, handlers[model])
        if parent is not None and parent is not model and parent in handlers:
            place(parent)
        ordered.append(model)

    for model in handlers:
        place(model)
    return [(model, handlers[model]) for model in ordered]


def parent_model(model, handler):
    if not handler.parent_field:
        return None
    return model._meta.get_field(handler.parent_field).related_model


def compare(platform: str) -> PlatformReport:
    """Read everything the platform can list for us and match it with what we hold.

    A platform that cannot be read completely (an error on any page) gives a report
    with `error` and no findings: a half-read listing would call everything after the
    failed page missing."""
    report = PlatformReport(platform, timezone.now())
    client = registry.client(platform)
    found: dict[type, dict[str, Remote]] = {}
    with recorder.collecting() as calls:
        try:
            for model, handler in listed_models(platform):
                if handler.listing is None:
                    # Kept as text, in English like the platforms' reasons beside it.
                    with translation.override("en"):
                        kind = str(model._meta.verbose_name_plural)
                    report.not_listed.append(f"{kind}: {handler.unlisted_reason}")
                    continue
                _compare_model(report, client, model, handler, found)
        except ProviderError as exc:
            report.error = exc.message
            report.findings, report.same = [], []
        report.calls = list(calls)
    report.finished_at = timezone.now()
    return report


def _compare_model(report, client, model, handler, found: dict) -> None:
    ours = list(_ours(report.platform, model, handler))
    parent = parent_model(model, handler)
    listed_parents = None
    if handler.listing == LISTS_PER_PARENT:
        # Only under parents of ours that it holds: a missing one has nothing to list.
        present = found.get(parent, {})
        listed_parents = sorted({o.parent_id for o in ours if o.parent_id in present})
        remotes = list(handler.list_remote(client, listed_parents))
    elif handler.listing == LISTS_ALL:
        remotes = list(handler.list_remote(client))
    else:  # a handler declaring a listing this engine does not know
        raise ValueError(f"unknown listing {handler.listing!r} for {model.__name__}")
    by_id = {remote.id: remote for remote in remotes}
    found[model] = by_id
    matched: set[str] = set()
    missing: dict[int, Finding] = {}
    unplaced: list[Ours] = []  # ours without a remote id yet (a create pending or lost)
    for mine in ours:
        if mine.row.operation == Operation.DELETE or mine.obj.deletion_requested_at:
            matched.add(mine.row.remote_id)  # on its way out: neither missing nor extra
            continue
        if not mine.row.remote_id:
            unplaced.append(mine)
            continue
        remote = by_id.get(mine.row.remote_id)
        if remote is None:
            reason = ""
            if listed_parents is not None and mine.parent_id not in listed_parents:
                reason = f"its {parent._meta.verbose_name} is missing there too"
            missing[mine.row.pk] = Finding(MISSING, model, mine, reason=reason)
            continue
        matched.add(remote.id)
        if mine.row.state in ON_ITS_WAY:
            continue  # a change of ours is being sent: compared once it has arrived
        differences = _differences(handler, mine, remote, per_parent=listed_parents is not None)
        if differences:
            report.findings.append(Finding(DIFFERENT, model, mine, remote, differences))
        else:
            report.same.append(mine.row)
    _extras(report, model, handler, remotes, matched, missing, unplaced)
    report.findings += missing.values()


def _extras(report, model, handler, remotes, matched, missing, unplaced) -> None:
    """What it holds that no row of ours names: ours when it carries our key for an
    object without a (present) remote id, else for a person to look at."""
    claimable: dict[str, Ours] = {}
    for mine in [*unplaced, *(f.ours for f in missing.values())]:
        for key in handler.keys(mine.obj, mine.payload):
            claimable.setdefault(key, mine)
    for remote in remotes:
        if remote.id in matched or not handler.claims(remote):
            continue
        mine = next((claimable[k] for k in remote.keys if k in claimable), None)
        if mine is None:
            report.findings.append(Finding(EXTRA, model, remote=remote))
            continue
        # Found again under another id (a lost create, or made again by hand): not
        # missing, and adopted rather than made a third time.
        claimable = {k: v for k, v in claimable.items() if v is not mine}
        missing.pop(mine.row.pk, None)
        report.findings.append(Finding(EXTRA, model, mine, remote, adoptable=True))


def _differences(handler, mine: Ours, remote: Remote, *, per_parent: bool) -> list[Difference]:
    differences = []
    for key, ours in handler.compared_view(mine.payload).items():
        if key not in remote.fields:
            continue  # the platform did not say (an optional field it left out)
        theirs = remote.fields[key]
        ours = str(ours) if isinstance(ours, str) else ours  # a choice's enum: its value
        if not _same(ours, theirs):
            label = handler.compared.get(key, key)
            differences.append(
                Difference(key, label, ours, theirs, handler.unpushable.get(key, ""))
            )
    if per_parent and remote.parent_id and remote.parent_id != mine.parent_id:
        # Listed under another parent of ours (moved there by hand).
        why = handler.unpushable.get("parent", "")
        differences.append(
            Difference("parent", handler.parent_field, mine.parent_id, remote.parent_id, why)
        )
    return differences


def _same(ours, theirs) -> bool:
    empty = (None, "")
    if ours in empty and theirs in empty:
        return True
    return ours == theirs


def _ours(platform: str, model, handler):
    """Our objects of `model` with a row on the platform, each with the payload it
    would be sent with now (its parent's remote id read in one query)."""
    content_type = ContentType.objects.get_for_model(model)
    its_rows = SyncRecord.objects.filter(content_type=content_type, provider=platform)
    rows = {row.object_id: row for row in its_rows.defer("attempt_payload")}
    objects = model._default_manager.filter(pk__in=its_rows.values("object_id"))
    if handler.parent_field:
        objects = objects.select_related(handler.parent_field)
    parent_kind = parent_model(model, handler)
    parent_ids = {}
    if parent_kind is not None:
        parent_ids = dict(
            SyncRecord.objects.filter(
                content_type=ContentType.objects.get_for_model(parent_kind), provider=platform
            ).values_list("object_id", "remote_id")
        )
    for obj in objects.iterator(chunk_size=2000):
        # The handler's parent (loaded with the object): a resource on Spark is under its
        # tenant's first meter when it names none.
        parent = handler.parent(obj) if parent_kind is not None else None
        parent_id = None if parent is None else parent_ids.get(parent.pk, "")
        try:
            payload = handler.payload(obj, parent_id)
        except NotSupported:
            continue  # it cannot be sent as it is (the row says why): nothing to compare
        yield Ours(rows[obj.pk], obj, payload, parent_id)
