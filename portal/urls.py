from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
]

if settings.SERVE_SANDBOXES:
    # The embedded sandboxes: partners' APIs as their guides describe them.
    urlpatterns += [
        path("sandbox/zaehlerfreunde/", include("providers.zaehlerfreunde.sandbox.urls")),
    ]
