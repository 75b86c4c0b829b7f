"""Who may see and who may change: every page and fragment goes through `page`.

Signed-in staff see the pages when their role (group) lets them view the onboarding
data; anything but GET/HEAD also needs the right to change it. A viewer's POST is a
403, never a silent no-op. The roles are groups (migration onboarding …_pages) carrying the
model permissions, so the admin and the pages agree on who may do what.
"""

from functools import wraps

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils.translation import gettext_noop

VIEW = "onboarding.view_space"
CHANGE = "onboarding.change_space"
SAFE_METHODS = ("GET", "HEAD")
# Marked for translation here, translated when the 403 page is rendered (errors.py).
NO_ROLE = gettext_noop("Your login has no role in the portal. Ask an administrator for one.")
READ_ONLY = gettext_noop("Viewers can look but not change anything.")


def can_change(user) -> bool:
    return user.is_active and user.is_staff and user.has_perm(CHANGE)


def can_view(user) -> bool:
    return user.is_active and user.is_staff and user.has_perm(VIEW)


def page(view):
    """Signed-in staff with a role; changes only for onboarding staff."""

    @wraps(view)
    def checked(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            if request.htmx and not request.htmx.boosted:
                # A fragment cannot show a sign-in page in place: send the browser there.
                response = render(request, "onboarding/auth/_signed_out.html", status=401)
                response["HX-Redirect"] = redirect_to_login(request.get_full_path())["Location"]
                return response
            return redirect_to_login(request.get_full_path())
        if not can_view(user):
            raise PermissionDenied(NO_ROLE)
        if request.method not in SAFE_METHODS and not can_change(user):
            raise PermissionDenied(READ_ONLY)
        request.can_change = can_change(user)
        return view(request, *args, **kwargs)

    return checked
