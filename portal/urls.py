from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from providers.registry import PLATFORMS

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("webhooks/", include("readings.urls")),
]

if settings.SERVE_SANDBOXES:
    # The embedded sandboxes: partners' APIs as their guides describe them.
    urlpatterns += [
        path(f"sandbox/{platform.name}/", include(platform.sandbox_urls))
        for platform in PLATFORMS.values()
        if platform.sandbox_urls
    ]
