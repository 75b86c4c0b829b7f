"""What a platform's sync.py implements for each model it takes (no Django here).

The outbox engine calls these; a handler only maps one model to one platform's calls.
The defaults are for what a platform cannot do: the engine then tells staff instead of
pretending (NotSupported → the row needs attention, with the reason).

Reconcile (onboarding/sync/reconcile/) asks a handler what its platform really holds:
`listing` says how the platform lists this kind of object (all at once, paged, or per
parent), `list_remote` reads it into `Remote`s in the terms of our payload, and
`compared` names the payload fields compared with ours. `not_sent` says what of an
object the platform cannot take (a field it keeps from the create, a value it has no
field for): the badge then says "not sent: <why>", never synced.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from .errors import NotSupported

# How a platform lists a kind of object, for reconcile.
LISTS_ALL = "all"  # one (paged) listing of everything the platform holds for us
LISTS_PER_PARENT = "per_parent"  # one (paged) listing per parent, by its remote id


@dataclass
class Remote:
    """One object as the platform holds it, in the terms of our payload."""

    id: str  # its remote id, in the form our outbox rows keep it
    fields: dict  # payload key → the value it holds (only the compared keys matter)
    parent_id: str | None = None  # its parent's remote id, where the listing says
    keys: tuple[str, ...] = ()  # our keys it carries (externalDeviceId, reference…)
    label: str = ""  # how a person recognises it ("Flat 1", "Meter CH1001")

    def describe(self) -> str:
        return f"{self.label or '?'} ({self.id})"


class Handler:
    supports_lookup = True  # False: an unknown create outcome needs a person, not a guess
    supports_delete = True
    delete_refusal = "This platform has no API to delete it."
    # Deleting its parent there voids it (an invite with its space): when both go, no
    # delete call of its own is made. (Not reconcile's `goes_with_parent` below: a
    # space's devices go with it there too, but are deleted by their own rows first.)
    voided_with_parent = False
    # What deleting it does there, in one sentence for the confirmation page (English;
    # the pages translate it, onboarding/sync_words.py). Empty: "it is deleted there".
    delete_effect = ""
    # The model field holding the parent (loaded with the object in one query).
    parent_field: str | None = None
    # The platform keeps it under its parent and drops it with it (a space's devices, a
    # user's meters): re-creating the parent there re-creates it too. False for what
    # outlives its parent there (Spark's reports).
    goes_with_parent = True
    # Fields the platform cannot change once it holds the object: {field: why}. Staff
    # are told before saving instead of seeing a save that never arrives.
    fixed_fields: dict[str, str] = {}
    # Fields the platform takes only when it creates the object: {model field: why}. A
    # later change is saved here (staff are told before saving) and the badge says
    # "not sent: <why>" until the object is made again there.
    create_only: dict[str, str] = {}

    # --- reconcile: what the platform really holds ------------------------------------
    listing: str | None = None  # LISTS_ALL, LISTS_PER_PARENT, or None: it cannot list these
    unlisted_reason = "This platform has no way to list these."
    # Payload keys compared with what the platform holds: {key: a person's name for it}.
    compared: dict[str, str] = {}
    # Compared keys a push cannot mend (the platform keeps them from the create):
    # {key: why}. A difference there is "not sent", not "different".
    unpushable: dict[str, str] = {}

    def rank(self, obj) -> int:
        """Sync order: 0 goes first (a building), higher waits for its parent."""
        return 0

    def parent(self, obj):
        """The object whose remote id this one needs first, or None."""
        return getattr(obj, self.parent_field) if self.parent_field else None

    def dependants(self, obj) -> list:
        """[(model, queryset of pks)] that wait for this object's remote id."""
        return []

    def payload(self, obj, parent_id: str | None) -> dict:
        raise NotImplementedError

    def create(self, client, obj, payload: dict, parent_id: str | None) -> str:
        """Create it on the platform; return its remote id."""
        raise NotImplementedError

    def prepare(self, client) -> None:
        """Before a create leaves: get what it needs that could fail on its own (a token),
        so such a failure is known not to have sent the create."""
        ensure_token = getattr(client, "ensure_token", None)
        if ensure_token is not None:
            ensure_token()

    def update(self, client, remote_id: str, payload: dict, parent_id: str | None) -> None:
        raise NotSupported("This platform has no API to change it; the change stays here.")

    def move(self, client, remote_id: str, old_parent_id: str, new_parent_id: str, obj=None):
        """It now belongs to another parent (a device moved to another unit)."""
        raise NotSupported("This platform cannot move it to another parent.")

    def find_existing(self, client, obj, payload: dict, parent_id: str | None) -> str | None:
        """The remote id of an object we may have created already, or None."""
        raise NotSupported("This platform cannot look it up.")

    def delete(self, client, remote_id: str) -> None:
        raise NotSupported(self.delete_refusal)

    def delete_object(self, client, remote_id: str, obj, parent_id: str | None) -> None:
        """What the engine calls to delete it there. A handler that needs more than the
        remote id (an invite needs its space and the invited address) overrides this."""
        self.delete(client, remote_id)

    def after_create(self, obj, remote_id: str) -> None:
        """Keep what the platform returned on our model, where staff need it."""

    def list_remote(self, client, parent_ids: Iterable[str] | None = None) -> Iterator[Remote]:
        """What the platform holds for us (LISTS_ALL), or under each of `parent_ids`
        (LISTS_PER_PARENT), paged and within its rate limits (the client's)."""
        raise NotSupported(self.unlisted_reason)

    def claims(self, remote: Remote) -> bool:
        """Whether a listed object may be one of ours at all. The partner accounts hold
        only what partners made (True); an account shared with a person (zevvy) holds
        theirs too, which is no drift of ours."""
        return True

    def keys(self, obj, payload: dict) -> tuple[str, ...]:
        """Our keys for the object, as `Remote.keys` carries them: an extra object that
        carries one is clearly ours and is adopted. None by default: nothing to tell
        ours from anyone else's."""
        return ()

    def compared_view(self, payload: dict) -> dict:
        """Our side of the comparison: the compared keys of the payload we would send."""
        return {key: payload.get(key) for key in self.compared}

    def not_sent(self, obj, created: dict | None = None) -> str | None:
        """Why the platform does not hold `obj` as we have it now, or None: something it
        cannot take (a field it keeps from the create, a value it has no field for).

        `created` is the payload the platform made the object from (the outbox keeps
        it, None when unknown), for what it takes only then. The badge then says
        "not sent: <why>" instead of synced."""
        return None
