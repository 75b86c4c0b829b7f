"""How our objects are named on Spark (both forms), and what Spark cannot change.

Remote ids of a user's objects are "<userId>/<id>": Spark addresses a location (and, in
the guide's form, a meter, vehicle or resource) under its user, and the user an object
was registered to is what a later call must name.
"""


def split(remote_id: str) -> tuple[str, str]:
    user_id, _, own_id = remote_id.partition("/")
    return user_id, own_id


def cannot_change(what: str, fields: tuple[str, ...]) -> dict[str, str]:
    """Spark has no API to change or move a meter, vehicle or resource: staff are told
    before saving (services.refuse_changes_platforms_cannot_take), not after."""
    why = (
        f"Spark cannot change a {what} once registered: delete the {what} and add it again "
        "with the new details."
    )
    moved = (
        f"Spark cannot move a {what} to another user: delete it and add it again under the "
        "other tenant."
    )
    return {field: moved if field == "tenant" else why for field in fields}
