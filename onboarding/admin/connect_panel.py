"""The admin's "Connect zevvy" panel: start the device login, show the code and the
link, and turn connected by itself.

The panel is an HTMX fragment. While a login waits it asks again after the interval
the server set (`hx-trigger="load delay:…"` on the fragment that replaces itself); each
ask runs at most one poll of zevvy, claimed in the database, so a second tab or a
running `connect_zevvy` never makes us poll faster. A settled fragment carries no
trigger: the polling stops. Without JavaScript the same URLs render a whole page.
"""

import math

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from providers import registry
from providers.errors import ProviderError

from .. import connect, sync_words
from ..sync.models import DeviceAuthorization, ProviderConnection

Outcome = DeviceAuthorization.Outcome
PERMISSION = "onboarding.change_providerconnection"
PANEL = "admin/onboarding/connect_panel.html"


def _allowed(request) -> None:
    if not request.user.has_perm(PERMISSION):
        raise PermissionDenied(_("Connecting a platform needs the right to change connections."))


def connection_sentence(provider: str, connection: ProviderConnection | None) -> str:
    """Where the connection stands and what to do, in one sentence."""
    label = registry.label(provider)
    if provider not in registry.enabled():
        return _("%(platform)s is not enabled: add it to PROVIDERS to use it.") % {
            "platform": label
        }
    if connection is None or not (connection.refresh_token or connection.access_token):
        return _(
            "Not connected: a person with a %(platform)s account must approve the portal's "
            "access. Press “Connect %(platform)s” and follow the link."
        ) % {"platform": label}
    if connection.status == ProviderConnection.Status.DISCONNECTED:
        return sync_words.translate(connection.status_message) or _(
            "%(platform)s refused our access: connect again."
        ) % {"platform": label}
    return _("Connected: %(platform)s accepts the portal's access, renewed by itself.") % {
        "platform": label
    }


def platform_sentences() -> list[dict]:
    """Every enabled platform's connection, and what to do about it, in one sentence."""
    rows = {c.provider: c for c in ProviderConnection.objects.defer("access_token")}
    result = []
    for name in registry.enabled():
        connection, label = rows.get(name), registry.label(name)
        sandbox = registry.connection(name).is_sandbox
        if registry.person_connects(name):
            sentence = connection_sentence(name, connection)
        elif connection is not None and connection.status == ProviderConnection.Status.DISCONNECTED:
            sentence = sync_words.translate(connection.status_message) or _(
                "%(platform)s refused our credentials: fix them, then run check_providers."
            ) % {"platform": label}
        elif connection is None and sandbox:
            sentence = _(
                "Not used yet (its sandbox): the first sync logs in; run check_providers to "
                "test the credentials now."
            )
        elif connection is None:
            sentence = _(
                "Not used yet (the real platform): the first sync logs in; run "
                "check_providers to test the credentials now."
            )
        elif sandbox:
            sentence = _("Connected to its sandbox; nothing to do.")
        else:
            sentence = _("Connected to the real platform; nothing to do.")
        result.append({"label": label, "sentence": sentence})
    return result


def panel_context(request, provider: str) -> dict:
    login = connect.current(provider)
    connection = (
        ProviderConnection.objects.filter(provider=provider)
        .only("provider", "status", "status_message", "access_token", "refresh_token")
        .first()
    )
    wait = None
    if login is not None and login.outcome == Outcome.PENDING:
        # Ask back once the next poll is due (never sooner than a second).
        wait = max(1, math.ceil((login.next_poll_at - timezone.now()).total_seconds()))
    return {
        "provider": provider,
        "label": registry.label(provider),
        "enabled": provider in registry.enabled(),
        "login": login,
        "pending": wait is not None,
        "wait": wait,
        "sentence": connection_sentence(provider, connection),
        "connected": connection is not None
        and connection.status == ProviderConnection.Status.CONNECTED
        and bool(connection.refresh_token),
        "start_url": reverse("admin:onboarding_connect_start", args=[provider]),
        "status_url": reverse("admin:onboarding_connect_status", args=[provider]),
        "changelist_url": reverse("admin:onboarding_providerconnection_changelist"),
    }


def _render(request, provider: str, admin_site, **extra):
    context = {**panel_context(request, provider), **extra}
    if request.htmx:
        return TemplateResponse(request, PANEL, context)
    title = _("Connect %(platform)s") % {"platform": context["label"]}
    context.update(admin_site.each_context(request), title=title)
    return TemplateResponse(request, "admin/onboarding/connect_page.html", context)


def _known(provider: str) -> str:
    if not registry.person_connects(provider):
        raise PermissionDenied(
            _("%(platform)s is not connected by a device login.") % {"platform": provider}
        )
    return provider


def start_view(admin_site):
    @require_POST
    def view(request, provider):
        _allowed(request)
        provider = _known(provider)
        if provider not in registry.enabled():
            said = _("%(platform)s is not enabled.") % {"platform": registry.label(provider)}
            return _render(request, provider, admin_site, error=said)
        try:
            connect.start(provider, started_by=request.user.get_username())
        except ProviderError as exc:
            error = connect.describe_failure(exc)
            if not request.htmx:
                messages.error(request, sync_words.translate(error))
                return redirect("admin:onboarding_providerconnection_changelist")
            return _render(request, provider, admin_site, error=error)
        if not request.htmx:
            return redirect("admin:onboarding_connect_status", provider)
        return _render(request, provider, admin_site)

    return view


def status_view(admin_site):
    @require_GET
    def view(request, provider):
        _allowed(request)
        provider = _known(provider)
        if provider in registry.enabled():
            connect.poll(provider)  # at most one call to zevvy, and only when due
        return _render(request, provider, admin_site)

    return view
