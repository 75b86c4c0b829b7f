"""What every synced model's admin shares: the sync column, filters and actions, the
sync-state section and recent calls, refusals said before saving, writes through
onboarding.services; and the read-only base of the outbox's own tables.

The sections platforms add to a model's page come from panels.py."""

from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.contrib.admin.actions import delete_selected as django_delete_selected
from django.contrib.admin.utils import model_ngettext, quote, unquote
from django.contrib.contenttypes.models import ContentType
from django.db.models import Exists, OuterRef, Prefetch
from django.http import HttpResponseRedirect
from django.template.loader import render_to_string
from django.template.response import TemplateResponse
from django.urls import NoReverseMatch, reverse
from django.utils import timezone, translation
from django.utils.html import escape, format_html, format_html_join
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext, pgettext_lazy

from providers import coverage, registry

from .. import services, sync_words
from ..forms import SyncedForm
from ..models import (
    ApiCall,
    SyncRecord,
)
from ..sync import attention
from ..sync_display import badge, exact, next_try, state_label, taker_badge, taker_note
from . import panels

State = SyncRecord.State
RETRYABLE = services.RETRYABLE
RECENT_CALLS = 20


def admin_change_url(content_type: ContentType, object_id) -> str | None:
    """The admin change page of an object, or None if the admin has none."""
    try:
        return reverse(
            f"admin:{content_type.app_label}_{content_type.model}_change", args=[quote(object_id)]
        )
    except NoReverseMatch:
        return None


def render_rows(template: str, **context) -> str:
    # The template autoescapes every value; the result is safe to embed.
    return mark_safe(render_to_string(template, context))  # noqa: S308


def call_rows(calls) -> list[dict]:
    return [
        {
            "call": call,
            "platform": registry.label(call.provider),
            "url": reverse("admin:onboarding_apicall_change", args=[call.pk]),
        }
        for call in calls
    ]


def retry_rows(modeladmin, request, rows):
    """Hand the retryable rows to the service and tell staff how many went. Where a
    Retry could make a second invite, staff are asked first (an intermediate page)."""
    rows = [row for row in rows if row.state in RETRYABLE]
    blind = services.blind_resends(rows)
    choice = request.POST.get("unknown_outcome")
    if blind and choice not in ("look_again", "resend"):
        return TemplateResponse(
            request,
            "admin/onboarding/confirm_retry.html",
            {
                **modeladmin.admin_site.each_context(request),
                "title": _("Retry: it may already exist on the platform"),
                "blind": blind,
                "selected": request.POST.getlist(helpers.ACTION_CHECKBOX_NAME),
                "action": request.POST.get("action"),
                "opts": modeladmin.model._meta,
            },
        )
    who = request.user.get_username()
    count = services.retry(rows, resend_unknown=choice == "resend", who=who) if rows else 0
    if count:
        modeladmin.message_user(
            request,
            ngettext("%(n)s sync row queued again.", "%(n)s sync rows queued again.", count)
            % {"n": count},
            messages.SUCCESS,
        )
    else:
        modeladmin.message_user(
            request,
            _("Nothing to retry: no selected sync row is failed, needs attention or pending."),
            messages.WARNING,
        )


# --- list filters ---------------------------------------------------------------------


class SyncStateFilter(admin.SimpleListFilter):
    """Objects with at least one outbox row in the chosen state."""

    title = gettext_lazy("sync state")
    parameter_name = "sync"

    GROUPS = {
        "problem": (
            gettext_lazy("Failed or needs attention"),
            (State.FAILED, State.NEEDS_ATTENTION),
        ),
        "failed": (gettext_lazy("Failed"), (State.FAILED,)),
        "needs_attention": (gettext_lazy("Needs attention"), (State.NEEDS_ATTENTION,)),
        "pending": (gettext_lazy("Pending or in flight"), (State.PENDING, State.IN_FLIGHT)),
        "synced": (gettext_lazy("Synced"), (State.SYNCED,)),
    }

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _states) in self.GROUPS.items()] + [
            ("none", _("Not on any platform"))
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        rows = SyncRecord.objects.filter(
            content_type=ContentType.objects.get_for_model(queryset.model),
            object_id=OuterRef("pk"),
        )
        if value == "none":
            return queryset.filter(~Exists(rows.exclude(remote_id="")))
        if value in self.GROUPS:
            return queryset.filter(Exists(rows.filter(state__in=self.GROUPS[value][1])))
        return queryset


class DeletionRequestedFilter(admin.SimpleListFilter):
    title = gettext_lazy("deletion")
    parameter_name = "deleting"

    def lookups(self, request, model_admin):
        return [("yes", _("Being deleted")), ("no", _("Not being deleted"))]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.filter(deletion_requested_at__isnull=False)
        if self.value() == "no":
            return queryset.filter(deletion_requested_at__isnull=True)
        return queryset


# --- the domain models ----------------------------------------------------------------


def accept_rows(modeladmin, request, rows) -> None:
    """Staff accept rows that need attention as they are; say what happened."""
    rows = list(rows)
    who = request.user.get_username()
    count = attention.accept_as_is(rows, who)
    if count:
        modeladmin.message_user(
            request,
            ngettext(
                "%(n)s sync row accepted as is by %(who)s; the last error is kept for the "
                "record. The next change of the object sends it again.",
                "%(n)s sync rows accepted as is by %(who)s; the last error is kept for the "
                "record. The next change of the object sends it again.",
                count,
            )
            % {"n": count, "who": who},
            messages.SUCCESS,
        )
    left = len(rows) - count
    if left or not rows:
        modeladmin.message_user(
            request,
            ngettext(
                "%(n)s selected sync row left alone: only a change or create that needs "
                "attention can be accepted as is; not a deletion, nor a create that units "
                "or devices wait for (Retry those instead).",
                "%(n)s selected sync rows left alone: only a change or create that needs "
                "attention can be accepted as is; not a deletion, nor a create that units "
                "or devices wait for (Retry those instead).",
                left,
            )
            % {"n": left},
            messages.WARNING,
        )


@admin.action(description=gettext_lazy("Retry sync"), permissions=["change"])
def retry_sync(modeladmin, request, queryset):
    rows = SyncRecord.objects.filter(
        content_type=ContentType.objects.get_for_model(queryset.model),
        object_id__in=queryset.values("pk"),
        state__in=RETRYABLE,
    ).select_related("content_type")
    return retry_rows(modeladmin, request, rows)


@admin.action(
    description=gettext_lazy("Accept as is (rows that need attention)"), permissions=["change"]
)
def accept_as_is(modeladmin, request, queryset):
    rows = SyncRecord.objects.filter(
        content_type=ContentType.objects.get_for_model(queryset.model),
        object_id__in=queryset.values("pk"),
        state=State.NEEDS_ATTENTION,
    )
    accept_rows(modeladmin, request, rows)


@admin.action(
    description=gettext_lazy("Delete selected %(verbose_name_plural)s"),
    permissions=["delete"],
)
def delete_selected(modeladmin, request, queryset):
    """Django's bulk delete, with the deletion itself done by the service.

    What a platform would refuse is said first and left out of the confirmation page.
    Django's own action announces "Successfully deleted" whatever happened; here
    delete_queryset says what did happen (deleted, waiting for the platforms, refused).
    """
    if not request.POST.get("post"):
        refused: dict[str, list] = {}  # reason → objects
        for obj in queryset:
            reason = attention.deletion_refusal(obj)
            if reason:
                refused.setdefault(reason, []).append(obj)
        for reason, objs in refused.items():
            names = ", ".join(f"“{obj}”" for obj in objs[:5])
            if len(objs) > 5:
                names = _("%(names)s and %(n)s more") % {"names": names, "n": len(objs) - 5}
            said = _("Cannot delete %(names)s: %(reason)s") % {
                "names": names,
                "reason": sync_words.translate(reason),
            }
            modeladmin.message_user(request, said, messages.ERROR)
        queryset = queryset.exclude(pk__in=[obj.pk for objs in refused.values() for obj in objs])
        if not queryset.exists():
            return None  # back to the list, with the reasons
        return django_delete_selected(modeladmin, request, queryset)
    _objects, _count, perms_needed, protected = modeladmin.get_deleted_objects(queryset, request)
    if perms_needed or protected:
        return django_delete_selected(modeladmin, request, queryset)
    modeladmin.delete_queryset(request, queryset)
    return None


class SyncedAdmin(admin.ModelAdmin):
    """What every synced model's admin shares: the sync column, filter, actions and
    section, refusing what a platform cannot apply, and saving and deleting through the
    service layer."""

    form = SyncedForm
    actions = [retry_sync, accept_as_is]
    list_per_page = 50
    change_form_template = "admin/onboarding/change_form.html"
    sync_fields = ("sync_state", "recent_calls")
    extra_readonly = ("created", "updated", "deletion_requested")

    def get_queryset(self, request):
        rows = SyncRecord.objects.order_by("provider")
        return super().get_queryset(request).prefetch_related(Prefetch("sync_records", rows))

    def get_list_filter(self, request):
        return [*super().get_list_filter(request), SyncStateFilter, DeletionRequestedFilter]

    def get_actions(self, request):
        actions = super().get_actions(request)
        if "delete_selected" in actions:
            actions["delete_selected"] = (
                delete_selected,
                "delete_selected",
                actions["delete_selected"][2],
            )
        return actions

    # -- list columns

    @admin.display(description=gettext_lazy("Sync"))
    def sync_summary(self, obj):
        """One badge per platform, placed next to the name: the first thing seen."""
        now = timezone.now()
        rows = obj.sync_records.all()  # prefetched
        badges = [badge(row, now) for row in rows]
        known = {row.provider for row in rows}
        badges += [
            taker_badge(taker)
            for taker in coverage.takers(type(obj))
            if taker.status != taker.ENABLED and taker.name not in known
        ]
        if not badges:
            return "—"
        return format_html_join(
            mark_safe("<br>"),
            '<span style="color:{}; white-space:nowrap; font-weight:600" title="{}">{}</span>',
            ((b["colour"], b["title"], b["text"]) for b in badges),
        )

    @admin.display(description=gettext_lazy("Deletion requested"), ordering="deletion_requested_at")
    def deletion_state(self, obj):
        if obj.deletion_requested_at is None:
            return ""
        return format_html(
            '<strong style="color:#ba2121">{}</strong> {}',
            _("Being deleted"),
            _("since %(when)s") % {"when": exact(obj.deletion_requested_at)},
        )

    # -- change page

    @admin.display(description=pgettext_lazy("when", "Created"))
    def created(self, obj):
        return exact(obj.created_at)

    @admin.display(description=pgettext_lazy("when", "Updated"))
    def updated(self, obj):
        return exact(obj.updated_at)

    @admin.display(description=gettext_lazy("Deletion requested"))
    def deletion_requested(self, obj):
        return exact(obj.deletion_requested_at)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            readonly += [f for f in (*self.extra_readonly, *self.sync_fields) if f not in readonly]
            readonly += [panel.render for panel in panels.for_model(self.model)]
        return readonly

    def get_fields(self, request, obj=None):
        # The panels' renderers are read-only "fields" of their own sections only.
        added = {panel.render for panel in panels.for_model(self.model)}
        return [f for f in super().get_fields(request, obj) if f not in added]

    def get_fieldsets(self, request, obj=None):
        fields = [f for f in self.get_fields(request, obj) if f not in self.sync_fields]
        fieldsets = [(None, {"fields": fields})]
        if obj is not None:
            fieldsets += [
                (_("Sync state"), {"fields": ["sync_state"]}),
                (_("Recent calls"), {"fields": ["recent_calls"]}),
            ]
            fieldsets += [
                (panel.title, {"fields": [panel.render]})
                for panel in panels.for_model(self.model)
                if panel.shown(obj)
            ]
        return fieldsets

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        if obj is not None:
            # Said before saving, next to the field: what will not reach a platform.
            for name, reasons in attention.fixed_fields(obj).items():
                if name in form.base_fields:
                    # The admin renders help texts as HTML: escape ours.
                    reason = " ".join(sync_words.translate(r) for r in dict.fromkeys(reasons))
                    form.base_fields[name].help_text = escape(_("Fixed: %(why)s") % {"why": reason})
            for name, reasons in attention.not_sent_fields(obj).items():
                if name in form.base_fields:
                    reason = " ".join(sync_words.translate(r) for r in reasons)
                    form.base_fields[name].help_text = escape(
                        _("Not sent if changed: %(why)s") % {"why": reason}
                    )
        return form

    @admin.display(description=gettext_lazy("Platforms"))
    def sync_state(self, obj):
        now = timezone.now()
        rows = list(obj.sync_records.all())
        known = {row.provider for row in rows}
        takers = coverage.takers(type(obj))
        return render_rows(
            "admin/onboarding/sync_state.html",
            rows=[
                {
                    "row": row,
                    "platform": coverage.label(row.provider),
                    "state": state_label(row, full=True),
                    "next_try": next_try(row, now),
                    "not_before": exact(row.not_before) if row.state == State.PENDING else "—",
                    "last_synced": exact(row.last_synced_at, _("never")),
                    "accepted": (
                        _("Accepted as is by %(who)s at %(when)s")
                        % {"who": row.dismissed_by, "when": exact(row.dismissed_at)}
                        if attention.is_accepted(row)
                        else ""
                    ),
                    "url": reverse("admin:onboarding_syncrecord_change", args=[row.pk]),
                }
                for row in rows
            ],
            missing=[t.label for t in takers if t.status == t.ENABLED and t.name not in known],
            not_in_use=[taker_note(t) for t in takers if t.status != t.ENABLED],
            no_taker=not takers,
            deletion_requested_at=exact(obj.deletion_requested_at, ""),
        )

    @admin.display(description=gettext_lazy("Calls"))
    def recent_calls(self, obj):
        content_type = ContentType.objects.get_for_model(obj)
        calls = ApiCall.objects.filter(content_type=content_type, object_id=obj.pk).order_by(
            "-started_at"
        )[:RECENT_CALLS]
        return render_rows(
            "admin/onboarding/api_calls.html",
            calls=call_rows(calls),
            more_url=(
                reverse("admin:onboarding_apicall_changelist")
                + f"?content_type__id__exact={content_type.pk}&object_id={obj.pk}"
            ),
            limit=RECENT_CALLS,
        )

    # -- permissions: an object being deleted can no longer be changed

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.deletion_requested_at:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.deletion_requested_at:
            return False
        return super().has_delete_permission(request, obj)

    # -- writes go through the service layer

    def get_deleted_objects(self, objs, request):
        # The object's outbox rows go with it (or are turned into deletions) through
        # services.delete; their own admin is read-only, which must not block this.
        to_delete, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        perms_needed.discard(SyncRecord._meta.verbose_name)
        return to_delete, model_count, perms_needed, protected

    def save_model(self, request, obj, form, change):
        # The form has validated already (full_clean through the model form).
        services.save(obj, validate=False)
        if change:
            # The outbox's search follows a rename (its list shows the live name anyway).
            with translation.override("en"):  # kept in English, like the outbox's words
                name = str(obj)[:300]
            SyncRecord.objects.filter(
                content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk
            ).update(object_repr=name)

    def delete_model(self, request, obj):
        gone = services.delete(obj)
        request._onboarding_deletion_waits = not gone

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        obj = self.get_object(request, unquote(object_id))
        reason = attention.deletion_refusal(obj) if obj is not None else None
        if reason:
            # Said on the page, instead of a Delete button that leads to a refusal.
            extra_context.update(show_delete=False, delete_refusal=reason)
        return super().change_view(request, object_id, form_url, extra_context)

    def _back_to_change_page(self, object_id):
        opts = self.opts
        return HttpResponseRedirect(
            reverse(
                f"admin:{opts.app_label}_{opts.model_name}_change",
                args=[object_id],
                current_app=self.admin_site.name,
            )
        )

    def delete_view(self, request, object_id, extra_context=None):
        obj = self.get_object(request, unquote(object_id))
        if obj is not None and self.has_delete_permission(request, obj):
            reason = attention.deletion_refusal(obj)
            if reason:  # before the confirmation page, not after it
                said = _("Cannot delete “%(obj)s”: %(reason)s") % {
                    "obj": obj,
                    "reason": sync_words.translate(reason),
                }
                self.message_user(request, said, messages.ERROR)
                return self._back_to_change_page(object_id)
        try:
            return super().delete_view(request, object_id, extra_context)
        except services.DeletionRefused as refusal:
            # Refused under the service's row locks (the state changed since the page
            # was shown); super() ran in a transaction that has been rolled back.
            said = _("Not deleted: %(reason)s") % {"reason": sync_words.translate(str(refusal))}
            self.message_user(request, said, messages.ERROR)
            return self._back_to_change_page(object_id)

    def response_delete(self, request, obj_display, obj_id):
        if getattr(request, "_onboarding_deletion_waits", False):
            self.message_user(
                request,
                _(
                    "Deletion of “%(obj)s” requested: the platforms are told first; it "
                    "disappears here once they have confirmed."
                )
                % {"obj": obj_display},
                messages.WARNING,
            )
            opts = self.opts
            return HttpResponseRedirect(
                reverse(
                    f"admin:{opts.app_label}_{opts.model_name}_changelist",
                    current_app=self.admin_site.name,
                )
            )
        return super().response_delete(request, obj_display, obj_id)

    def delete_queryset(self, request, queryset):
        deleted, waiting, refused, skipped = [], [], [], []
        for obj in queryset:
            if obj.deletion_requested_at:
                skipped.append(obj)
                continue
            display = str(obj)
            pk = obj.pk
            try:
                gone = services.delete(obj)
            except services.DeletionRefused as refusal:
                refused.append((display, str(refusal)))
                continue
            if gone:
                obj.pk = pk  # Model.delete() clears it; the log entry needs it.
                deleted.append(obj)
            else:
                waiting.append(obj)
        if deleted:
            self.log_deletions(request, deleted)
            self.message_user(
                request,
                _("Deleted %(n)s %(kind)s.")
                % {"n": len(deleted), "kind": model_ngettext(self.opts, len(deleted))},
                messages.SUCCESS,
            )
        if waiting:
            self.message_user(
                request,
                _(
                    "Deletion requested for %(n)s %(kind)s: the platforms are told first; "
                    "they disappear here once the platforms have confirmed."
                )
                % {"n": len(waiting), "kind": model_ngettext(self.opts, len(waiting))},
                messages.WARNING,
            )
        if skipped:
            self.message_user(
                request,
                _("%(n)s %(kind)s already being deleted.")
                % {"n": len(skipped), "kind": model_ngettext(self.opts, len(skipped))},
                messages.INFO,
            )
        for display, reason in refused:
            said = _("Not deleted: “%(obj)s”: %(reason)s") % {
                "obj": display,
                "reason": sync_words.translate(reason),
            }
            self.message_user(request, said, messages.ERROR)


class ReadOnlyAdmin(admin.ModelAdmin):
    show_full_result_count = False  # these tables grow large

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class PlatformFilter(admin.SimpleListFilter):
    """The platforms by name ("Zählerfreunde"), not by code."""

    title = gettext_lazy("platform")
    parameter_name = "provider"

    def lookups(self, request, model_admin):
        # The known platforms, not a DISTINCT over a table that grows large.
        return [(name, coverage.label(name)) for name in registry.KNOWN]

    def queryset(self, request, queryset):
        return queryset.filter(provider=self.value()) if self.value() else queryset
