"""Sign-in (staff only), sign-out and password change: Django's own views, our pages."""

from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _


class StaffSignInForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "not_staff": _("This login is not for staff. Ask an administrator for access."),
    }

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not user.is_staff:
            raise forms.ValidationError(self.error_messages["not_staff"], code="not_staff")


sign_in = auth_views.LoginView.as_view(
    template_name="onboarding/auth/sign_in.html",
    authentication_form=StaffSignInForm,
    redirect_authenticated_user=True,
)
sign_out = auth_views.LogoutView.as_view()
password_change = auth_views.PasswordChangeView.as_view(
    template_name="onboarding/auth/password_change.html",
    success_url=reverse_lazy("pages:password_change_done"),
)
password_change_done = auth_views.PasswordChangeDoneView.as_view(
    template_name="onboarding/auth/password_change_done.html"
)
