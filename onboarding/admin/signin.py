"""The sign-in throttle in the admin: django-axes' "Access attempts" (who failed, from
where, whether locked), with an "Unlock" action that forgets their failures, so the
account or address may sign in again at once."""

from axes.admin import AccessAttemptAdmin
from axes.models import AccessAttempt
from django.contrib import admin, messages
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy


@admin.action(
    description=gettext_lazy("Unlock (forget these failed sign-ins)"), permissions=["delete"]
)
def unlock(modeladmin, request, queryset):
    who = sorted({a.username or a.ip_address for a in queryset})
    queryset.delete()
    said = _("Unlocked: %(who)s.") % {"who": ", ".join(who)}
    modeladmin.message_user(request, said, messages.SUCCESS)


admin.site.unregister(AccessAttempt)


@admin.register(AccessAttempt)
class LockedOutAdmin(AccessAttemptAdmin):
    actions = [unlock]
