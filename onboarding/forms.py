"""Forms shared by the admin and the pages."""

from django import forms
from django.core.exceptions import ValidationError

from . import services


class SyncedForm(forms.ModelForm):
    """Refuses, before saving, a change that a platform holding the object cannot apply
    (instead of "changed successfully" now and "needs attention" a few seconds later).
    The rule is the service layer's; the form shows its reasons on the fields."""

    def _post_clean(self):
        super()._post_clean()  # the instance now holds the form's values
        try:
            services.refuse_changes_platforms_cannot_take(self.instance)
        except ValidationError as refusal:
            self._update_errors(refusal)
