"""The portal's pages (namespace "pages"); the admin stays under /admin/."""

from django.urls import path

from .views import auth, dashboard, drift, edit, imports, objects, progress, sync, wizard

app_name = "pages"

urlpatterns = [
    path("", dashboard.dashboard, name="dashboard"),
    path("login/", auth.sign_in, name="login"),
    path("logout/", auth.sign_out, name="logout"),
    path("password/", auth.password_change, name="password_change"),
    path("password/done/", auth.password_change_done, name="password_change_done"),
    path("sync/retry/", sync.retry, name="retry"),
    path("go/<int:content_type_id>/<int:object_id>/", sync.go, name="go"),
]

urlpatterns += [
    path("spaces/<int:pk>/", objects.space, name="space"),
    path("devices/<int:pk>/", objects.device, name="device"),
    path("tenants/<int:pk>/", objects.tenant, name="tenant"),
    path("edit/<str:kind>/<int:pk>/", edit.edit, name="edit"),
    path("delete/<str:kind>/<int:pk>/", edit.delete, name="delete"),
    path("spaces/<int:pk>/change-tenant/", edit.change_tenant, name="change_tenant"),
]

urlpatterns += [
    path("onboard/", wizard.wizards, name="wizards"),
    path("onboard/<uuid:wizard_id>/", wizard.resume, name="wizard"),
    path("onboard/<uuid:wizard_id>/step/<int:number>/", wizard.step, name="wizard_step"),
    path("onboard/<uuid:wizard_id>/discard/", wizard.discard, name="wizard_discard"),
]

urlpatterns += [
    path("import/", imports.import_page, name="import"),
    path("import/done/", imports.import_done, name="import_done"),
    path("import/done/progress/", progress.import_progress, name="import_progress"),
    path(
        "import/template.<str:extension>",
        imports.import_template,
        name="import_template",
    ),
]

urlpatterns += [
    path("drift/", drift.drift_page, name="drift"),
    path("drift/compare/", drift.compare_now, name="drift_compare"),
    path("drift/fix/", drift.fix, name="drift_fix"),
]
