"""Stored texts in the page's language.

The outbox stores its states' reasons in English (`SyncRecord.last_error`, written by
workers that serve no one's language; support greps them), and handlers say what a
platform cannot take in English too; so do reconcile's findings, the readings'
forwarding and a platform connection's message. They are translated when shown: each
known sentence is matched here, its parameters (platform, object, the platform's own
words, codes) kept as they are and put into the translated sentence. A text not known
here is shown as stored: the transport's own words ("HTTP 503 from …", an answer's
shape, a missing setting) stay as they are, like a code.

Handlers' texts live in providers/, which makemessages does not read (the sandboxes
are the platforms' pages, in English): their sentences are repeated here, and
tests/test_pages_german.py checks that every handler's declared text has German.
"""

import re
from functools import cache

from django.utils.translation import gettext
from django.utils.translation import gettext_noop as _

# (pattern, translated template). Named groups are the parameters; those called
# `inner` are translated again (a reason quoting another reason), those in TERMS are
# words of ours (a model's name, yes/no) looked up in the catalogue.
TERMS = {"what", "kind", "held"}
PATTERNS = [
    (r"Attempt (?P<n>\d+) failed, retrying: (?P<inner>.*)",
     _("Attempt %(n)s failed, retrying: %(inner)s")),
    (r"(?P<platform>.+?) still failing after (?P<n>\d+) attempts: (?P<inner>.*)",
     _("%(platform)s still failing after %(n)s attempts: %(inner)s")),
    (r"Deleted on (?P<platform>.+?) \(it answered 404: (?P<reason>.*)\)\. Retry creates it again\.",
     _("Deleted on %(platform)s (it answered 404: %(reason)s). Retry creates it again.")),
    (r"Deleted on (?P<platform>.+?) \(it answered 404: (?P<reason>.*)\)\. Retry creates it "
     r"again, with what hangs under it\.",
     _("Deleted on %(platform)s (it answered 404: %(reason)s). Retry creates it again, with "
       "what hangs under it.")),
    (r"(?P<platform>.+?) refused our credentials \((?P<reason>.*)\)\. Check its client id and "
     r"secret, then run `manage\.py check_providers` to reconnect; syncing resumes\.",
     _("%(platform)s refused our credentials (%(reason)s). Check its client id and secret, "
       "then run `manage.py check_providers` to reconnect; syncing resumes.")),
    (r"(?P<platform>.+?) refused our credentials \((?P<reason>.*)\); readings wait until it "
     r"is reconnected \(manage\.py check_providers\)\.",
     _("%(platform)s refused our credentials (%(reason)s); readings wait until it is "
       "reconnected (manage.py check_providers).")),
    (r"(?P<inner>.+); syncing resumes then\.", _("%(inner)s; syncing resumes then.")),
    (r"(?P<platform>.+?) refused it: (?P<inner>.*)", _("%(platform)s refused it: %(inner)s")),
    (r"(?P<platform>.+?) refused the readings after id (?P<id>\d+): (?P<inner>.*)",
     _("%(platform)s refused the readings after id %(id)s: %(inner)s")),
    (r"Waiting for the latest change of (?P<parent>.+?) to reach (?P<platform>.+?)\.",
     _("Waiting for the latest change of %(parent)s to reach %(platform)s.")),
    (r"Waiting for the name of (?P<parent>.+?) to reach (?P<platform>.+?)\.",
     _("Waiting for the name of %(parent)s to reach %(platform)s.")),
    (r"(?P<platform>.+?) finds a device by its name, and (?P<n>\d+) other device\(s\) are "
     r"called (?P<name>.+?) there: rename (?P<device>.+?) \(or them\), or forward its "
     r"readings by reference\.",
     _("%(platform)s finds a device by its name, and %(n)s other device(s) are called "
       "%(name)s there: rename %(device)s (or them), or forward its readings by reference.")),
    (r"Waiting for (?P<parent>.+?) to reach (?P<platform>.+?)\.",
     _("Waiting for %(parent)s to reach %(platform)s.")),
    (r"Waiting for (?P<parent>.+?), which failed: (?P<inner>.*)",
     _("Waiting for %(parent)s, which failed: %(inner)s")),
    (r"(?P<platform>.+?) is not enabled \(PROVIDERS\); this waits until it is enabled again\.",
     _("%(platform)s is not enabled (PROVIDERS); this waits until it is enabled again.")),
    (r"(?P<platform>.+?) is not enabled \(PROVIDERS\); readings wait here\.",
     _("%(platform)s is not enabled (PROVIDERS); readings wait here.")),
    (r"(?P<platform>.+?) is disconnected; readings wait until it is back\.",
     _("%(platform)s is disconnected; readings wait until it is back.")),
    (r"(?P<platform>.+?) is enabled but (?P<setting>\w+) is not set: without it the portal "
     r"would talk to a sandbox\. Set the platform's base URL and credentials, or remove it "
     r"from PROVIDERS\. This waits until it is\.",
     _("%(platform)s is enabled but %(setting)s is not set: without it the portal would talk "
       "to a sandbox. Set the platform's base URL and credentials, or remove it from "
       "PROVIDERS. This waits until it is.")),
    (r"(?P<object>.+?) stays on (?P<platform>.+?), which is not enabled: delete it there by "
     r"hand if it should go\.",
     _("%(object)s stays on %(platform)s, which is not enabled: delete it there by hand if it "
       "should go.")),
    (r"(?P<object>.+) is being deleted and cannot be changed\.",
     _("%(object)s is being deleted and cannot be changed.")),
    (r"(?P<inner>.+) Re-create it under the new parent, or accept it as is\.",
     _("%(inner)s Re-create it under the new parent, or accept it as is.")),
    # An invite's name as the outbox keeps it (Invite.__str__, in English there)
    (r"Invite (?P<email>\S+@\S+) to (?P<space>.+)", _("Invite %(email)s to %(space)s")),
    # reconcile (onboarding/sync/reconcile/record.py, compare.py)
    (r"Missing on (?P<platform>.+?): it no longer holds it \(compared (?P<when>[^;()]+)\)\. "
     r"Re-create makes it again there, with what hangs under it\.",
     _("Missing on %(platform)s: it no longer holds it (compared %(when)s). Re-create makes "
       "it again there, with what hangs under it.")),
    (r"Missing on (?P<platform>.+?): it no longer holds it \(compared (?P<when>[^;()]+); "
     r"(?P<inner>.+)\)\. Re-create makes it again there, with what hangs under it\.",
     _("Missing on %(platform)s: it no longer holds it (compared %(when)s; %(inner)s). "
       "Re-create makes it again there, with what hangs under it.")),
    (r"its (?P<kind>.+) is missing there too", _("its %(kind)s is missing there too")),
    # Zählerfreunde (providers/zaehlerfreunde/sync.py)
    (r"Zählerfreunde holds the Mieterstrom flag as (?P<held>yes|no): it takes it only when "
     r"the space is created, so the change did not reach it\.",
     _("Zählerfreunde holds the Mieterstrom flag as %(held)s: it takes it only when the space "
       "is created, so the change did not reach it.")),
    (r"(?P<email>\S+) has not accepted the Zählerfreunde invite, and Zählerfreunde has no API to "
     r"withdraw one: its link stays valid until someone uses it\. Retry looks again and removes "
     r"whoever accepted it; deleting the unit on Zählerfreunde voids the link\.",
     _("%(email)s has not accepted the Zählerfreunde invite, and Zählerfreunde has no API to "
       "withdraw one: its link stays valid until someone uses it. Retry looks again and "
       "removes whoever accepted it; deleting the unit on Zählerfreunde voids the link.")),
    (r"The invite may or may not have been created \(no answer came back\), and the tenant "
     r"has not accepted one yet, so Zählerfreunde cannot tell\. (?P<inner>.+)",
     _("The invite may or may not have been created (no answer came back), and the tenant "
       "has not accepted one yet, so Zählerfreunde cannot tell. %(inner)s")),
    (r"Ask (?P<email>\S+) whether an invite e-mail from Zählerfreunde arrived\. If it did, "
     r"accept this row as is; if not, Retry sends a new one\.",
     _("Ask %(email)s whether an invite e-mail from Zählerfreunde arrived. If it did, accept "
       "this row as is; if not, Retry sends a new one.")),
    # Volue Spark (providers/spark/*.py)
    (r"Spark cannot change a (?P<what>\w+) once registered: delete the (?P=what) and add it "
     r"again with the new details\.",
     _("Spark cannot change this (%(what)s) once registered: delete it and add it again with "
       "the new details.")),
    (r"Spark cannot move a (?P<what>\w+) to another user: delete it and add it again under the "
     r"other tenant\.",
     _("Spark cannot move this (%(what)s) to another user: delete it and add it again under "
       "the other tenant.")),
    (r"Spark has no API to change a (?P<what>\w+): delete it and add it again\.",
     _("Spark has no API to change this (%(what)s): delete it and add it again.")),
    (r"Spark has no API to change a (?P<what>\w+): delete the (?P=what) and add it again\.",
     _("Spark has no API to change this (%(what)s): delete it and add it again.")),
    (r"Spark has no API to change a (?P<what>\w+): delete it and add it again to send it\.",
     _("Spark has no API to change this (%(what)s): delete it and add it again to send it.")),
    (r"Spark has no API to change a (?P<what>\w+): this change stays in the portal\. To apply "
     r"it there, delete the (?P=what) and add it again\.",
     _("Spark has no API to change this (%(what)s): this change stays in the portal. To apply "
       "it there, delete it and add it again.")),
    (r"Spark holds (?P<what>\w+) (?P<id>\S+) under user (?P<user>\S+), location "
     r"(?P<location>\S+), not ours: delete it there, then retry\.",
     _("Spark holds this (%(what)s) %(id)s under user %(user)s, location %(location)s, not "
       "ours: delete it there, then retry.")),
    (r"Spark already has a location (?P<id>\S+) under another user \((?P<reason>.*)\)\.",
     _("Spark already has a location %(id)s under another user (%(reason)s).")),
    (r"Spark already has a (?P<what>\w+) with (?P<key>\w+) (?P<value>\S+) under another user "
     r"\((?P<reason>.*)\)\. Delete it there, or from the tenant it belongs to, then retry\.",
     _("Spark already has this (%(what)s) with %(key)s %(value)s under another user "
       "(%(reason)s). Delete it there, or from the tenant it belongs to, then retry.")),
    (r"The report may or may not have reached Spark \(no answer came back\), and Spark offers "
     r"no way to look reports up\. Ask Spark about the report answering event (?P<event>\S+) "
     r"for resourceId (?P<resource>\S+) made at (?P<made>.+?): if it arrived, accept this row "
     r"as is; if not, Retry sends it\.",
     _("The report may or may not have reached Spark (no answer came back), and Spark offers "
       "no way to look reports up. Ask Spark about the report answering event %(event)s for "
       "resourceId %(resource)s made at %(made)s: if it arrived, accept this row as is; if "
       "not, Retry sends it.")),
    (r"The report may or may not have reached Spark \(no answer came back\), and Spark offers "
     r"no way to look reports up\. Ask Spark about the report for resourceId (?P<resource>\S+) "
     r"made at (?P<made>.+?): if it arrived, accept this row as is; if not, Retry sends it\.",
     _("The report may or may not have reached Spark (no answer came back), and Spark offers "
       "no way to look reports up. Ask Spark about the report for resourceId %(resource)s "
       "made at %(made)s: if it arrived, accept this row as is; if not, Retry sends it.")),
    # zevvy (providers/zevvy/client.py, oauth.py)
    (r"zevvy does not offer a device listing \((?P<call>.+?) answered (?P<status>\d+); no "
     r"public source shows one\), so the portal cannot look for the device (?P<key>\S+) a "
     r"create whose answer was lost may have made\. Look in zevvy for a device named or "
     r"referenced (?P=key): if it is there, leave it and dismiss this row; if not, Retry\.",
     _("zevvy does not offer a device listing (%(call)s answered %(status)s; no public source "
       "shows one), so the portal cannot look for the device %(key)s a create whose answer "
       "was lost may have made. Look in zevvy for a device named or referenced %(key)s: if it "
       "is there, leave it and dismiss this row; if not, Retry.")),
    (r"zevvy does not accept changes to a device over its API \((?P<call>.+?) answered "
     r"(?P<status>\d+); no public source shows one\)\. Change device (?P<key>\S+) in zevvy by "
     r"hand; the portal keeps its change here\.",
     _("zevvy does not accept changes to a device over its API (%(call)s answered %(status)s; "
       "no public source shows one). Change device %(key)s in zevvy by hand; the portal keeps "
       "its change here.")),
    (r"zevvy does not offer deleting a device over its API \((?P<call>.+?) answered "
     r"(?P<status>\d+); no public source shows one\)\. Delete device (?P<key>\S+) in zevvy by "
     r"hand, then dismiss this row\.",
     _("zevvy does not offer deleting a device over its API (%(call)s answered %(status)s; no "
       "public source shows one). Delete device %(key)s in zevvy by hand, then dismiss this "
       "row.")),
    (r"zevvy gave us no refresh token to renew access; (?P<inner>.+)",
     _("zevvy gave us no refresh token to renew access; %(inner)s")),
    (r"our zevvy authorization has expired; (?P<inner>.+)",
     _("our zevvy authorization has expired; %(inner)s")),
    (r"zevvy no longer accepts our authorization \((?P<reason>.*)\); (?P<inner>.+)",
     _("zevvy no longer accepts our authorization (%(reason)s); %(inner)s")),
    (r"zevvy refused the device code \((?P<reason>.*)\)",
     _("zevvy refused the device code (%(reason)s)")),
    # zevvy's device login, as the connect panel keeps it (onboarding/connect.py)
    (r"zevvy asked us to slow down: polling every (?P<n>[\d.]+) s\.",
     _("zevvy asked us to slow down: polling every %(n)s s.")),
    (r"zevvy did not answer this time \((?P<reason>.*)\); asking again\.",
     _("zevvy did not answer this time (%(reason)s); asking again.")),
    (r"zevvy's authorization server could not be reached \((?P<reason>.*)\); check "
     r"ZEVVY_DEVICE_AUTHORIZATION_URL or try again later\.",
     _("zevvy's authorization server could not be reached (%(reason)s); check "
       "ZEVVY_DEVICE_AUTHORIZATION_URL or try again later.")),
    (r"Connected to (?P<platform>[^.]+)\.", _("Connected to %(platform)s.")),
    (r"Connected to (?P<platform>[^.]+)\. (?P<n>\d+) waiting rows? resume\.",
     _("Connected to %(platform)s. Waiting rows going on now: %(n)s.")),
    # A catalogue refresh's result (onboarding/catalogue/refresh.py)
    (r"(?P<platform>[^:]+): (?P<total>\d+) in the catalogue \((?P<new>\d+) new, "
     r"(?P<changed>\d+) changed, (?P<values>\d+) with new values, (?P<gone>\d+) gone, "
     r"(?P<back>\d+) back\)",
     _("%(platform)s: %(total)s in the catalogue (%(new)s new, %(changed)s changed, "
       "%(values)s with new values, %(gone)s gone, %(back)s back)")),
    # Last: a known reason made a sentence ("The person at zevvy denied access.")
    (r"(?P<inner>.+)\.", _("%(inner)s.")),
]  # fmt: skip

SENTENCES = {
    _("It goes with its parent there; nothing else is called."),
    _("It is deleted there."),
    _("It is deleted there, after what it holds."),
    _("The device is deleted there, with the readings it holds there."),
    _("Their user there is deleted, after what hangs under it: their access ends."),
    _("The platform gave no reason."),
    _("Waiting for what it holds to be deleted first."),
    # What any platform cannot do (providers/handlers.py)
    _("This platform has no API to delete it."),
    _("This platform has no way to list these."),
    _("This platform has no API to change it; the change stays here."),
    _("This platform cannot move it to another parent."),
    _("This platform cannot look it up."),
    # Zählerfreunde
    _(
        "The tenant's access to the unit ends: removed from the space if they accepted the "
        "invite. An invite not yet accepted cannot be withdrawn (Zählerfreunde has no API "
        "for it): you are told if its link is still open."
    ),
    _(
        "Zählerfreunde takes the Mieterstrom flag only when the space is created; it cannot "
        "change it afterwards."
    ),
    _(
        "Zählerfreunde cannot change a device's type once it has the device: delete the "
        "device and add it again with the right type."
    ),
    _(
        "Zählerfreunde cannot change a device's medium once it has the device: delete the "
        "device and add it again with the right medium."
    ),
    _(
        "Zählerfreunde cannot move an invite to another unit: the tenant's link stays valid "
        "for the unit it was made for. Make a new invite for the new unit."
    ),
    _(
        "Zählerfreunde cannot change an invite once made: the tenant keeps the link sent "
        "before. Invite the new address as a new invite."
    ),
    _(
        "The invite already exists on Zählerfreunde; whether it e-mailed the tenant cannot "
        "change afterwards."
    ),
    _(
        "Zählerfreunde cannot list invites (only the users who accepted one); an invite is "
        "made again with its unit."
    ),
    # Volue Spark
    _(
        "Spark cannot move a resource to another location: delete it and add it again at the "
        "other meter."
    ),
    _(
        "Spark's locations hold no address: a change of the unit's address does not reach "
        "Spark (nothing there to change)."
    ),
    _(
        "Spark cannot change a meter once registered: a new address of its unit does not "
        "reach it (delete the meter and add it again to send it)."
    ),
    _("A report Spark has received cannot be changed; send a new one."),
    _(
        "Spark binds every resource but a vehicle to a location: add the tenant's meter (its "
        "location), then Retry."
    ),
    _(
        "Spark needs the place of charging (the report's location): give the report a "
        "latitude and longitude, then Retry."
    ),
    _(
        "The Spark user may or may not have been created (no answer came back), and Spark "
        "users carry nothing of ours to find them by. Use 'Retry' to create it: if the first "
        "one did arrive, an empty user without meters or vehicles stays behind on Spark, "
        "which their support can remove."
    ),
    # zevvy
    _("not connected: run manage.py connect_zevvy"),
    _(
        "connect again: run `manage.py connect_zevvy` or use Connect on the admin's provider "
        "connection page"
    ),
    _("the person at zevvy denied access"),
    _("the code expired before anyone approved it; start again"),
    _("zevvy no longer knows this code (already used, or expired); start again"),
    _("zevvy refused our client id or secret; check ZEVVY_CLIENT_ID and ZEVVY_CLIENT_SECRET"),
    _("zevvy does not allow this client the device flow; ask zevvy to enable it"),
}

# The fields reconcile compares, as handlers name them (`Handler.compared`), and the
# parent fields a move names: shown beside both values ("name: ours …, theirs …").
LABELS = {
    _("name"),
    _("category"),
    _("address line one"),
    _("address line two"),
    _("postcode"),
    _("city"),
    _("building"),
    _("Mieterstrom flag"),
    _("main meter"),
    _("type"),
    _("medium"),
    _("external device id"),
    _("location type"),
    _("metering point"),
    _("metering point id"),
    _("meter number"),
    _("coordinates"),
    _("address"),
    _("resource type"),
    _("brand, model, year and VIN"),
    _("kind, brand, model, capacity and heating elements"),
    _("reference"),
    _("parent"),
    _("space"),
    _("tenant"),
    _("meter"),
    _("vehicle"),
}


@cache
def _compiled():
    return [(re.compile(pattern, re.DOTALL), template) for pattern, template in PATTERNS]


def translate(text: str) -> str:
    """`text` in the active language when it is one of the known sentences. A reason put
    at the start of a sentence ("Our zevvy authorization …; syncing resumes then.") is
    known by its words, whatever its first letter."""
    if not text:
        return text
    translated = _translate(text)
    if translated == text and text[:1].isupper():
        lowered = text[:1].lower() + text[1:]
        again = _translate(lowered)
        if again != lowered:
            return again[:1].upper() + again[1:]
    return translated


def translate_labelled(text: str) -> str:
    """ "invites: <why>" (what reconcile could not compare, and why) with both parts in
    the active language; the kind is a model's name."""
    kind, colon, reason = text.partition(": ")
    if not colon:
        return translate(text)
    return f"{gettext(kind)}: {translate(reason)}"


def _translate(text: str) -> str:
    if text in SENTENCES or text in LABELS:
        return gettext(text)
    for pattern, template in _compiled():
        match = pattern.fullmatch(text)
        if match:
            return gettext(template) % {
                name: _parameter(name, value) for name, value in match.groupdict().items()
            }
    return text


def _parameter(name: str, value: str) -> str:
    if name == "inner":
        return translate(value)
    if name in TERMS:
        return gettext(value)
    return value
