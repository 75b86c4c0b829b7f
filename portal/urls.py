from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from providers.registry import PLATFORMS

urlpatterns = [
    path("", include("onboarding.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    # /healthz, /readyz, /metrics (docs/operations.md)
    path("", include("onboarding.operations.urls")),
]
# What platforms send to us (webhooks), each from its own folder.
urlpatterns += [
    path(f"webhooks/{platform.name}/", include(platform.inbound_urls))
    for platform in PLATFORMS.values()
    if platform.inbound_urls
]

# A 403 says why, in place when it answers a fragment (onboarding/views/errors.py).
handler403 = "onboarding.views.errors.forbidden"

if settings.SERVE_SANDBOXES:
    # The embedded sandboxes: partners' APIs as their guides describe them.
    urlpatterns += [
        path(f"sandbox/{platform.name}/", include(platform.sandbox_urls))
        for platform in PLATFORMS.values()
        if platform.sandbox_urls
    ]
