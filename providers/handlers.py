"""What a platform's sync.py implements for each model it takes (no Django here).

The outbox engine calls these; a handler only maps one model to one platform's calls.
The defaults are for what a platform cannot do: the engine then tells staff instead of
pretending (NotSupported → the row needs attention, with the reason).
"""

from .errors import NotSupported


class Handler:
    supports_lookup = True  # False: an unknown create outcome needs a person, not a guess
    supports_delete = True
    delete_refusal = "This platform has no API to delete it."
    # The model field holding the parent (loaded with the object in one query).
    parent_field: str | None = None
    # Fields the platform cannot change once it holds the object: {field: why}. Staff
    # are told before saving instead of seeing a save that never arrives.
    fixed_fields: dict[str, str] = {}

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

    def after_create(self, obj, remote_id: str) -> None:
        """Keep what the platform returned on our model, where staff need it."""
