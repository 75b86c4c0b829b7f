"""The building import: upload the `import_building` CSV, see every bad row and column
(or what it would create and change), confirm, and watch it sync. The same importer
as the command; all or nothing."""

import uuid
from pathlib import Path

from django import forms
from django.conf import settings
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from providers import registry

from .. import importer, services
from ..models import Space
from . import status
from .access import page
from .rendering import page_or_fragment

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
KIND_LABELS = {
    "buildings": _("Buildings"),
    "units": _("Units"),
    "devices": _("Devices"),
    "tenants": _("Tenants"),
    "invites": _("Invites"),
}


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "One row per unit; the columns of `manage.py import_building` (comma or "
            "semicolon, UTF-8)."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(_("The file is larger than 20 MB."))
        return upload


def upload_dir() -> Path:
    path = Path(settings.VAR_DIR) / "imports"
    path.mkdir(parents=True, exist_ok=True)
    return path


def upload_path(upload_id: str) -> Path | None:
    try:
        name = str(uuid.UUID(upload_id))
    except (ValueError, TypeError):
        return None
    path = upload_dir() / f"{name}.csv"
    return path if path.exists() else None


def building_names(path: Path) -> list[str]:
    try:
        _columns, rows, _errors = importer.read_csv(path)
    except importer.ImportFileError:
        return []
    return sorted({cells.get("building", "") for _n, cells in rows} - {""})


def counts_table(summary) -> list[dict]:
    return [{"kind": KIND_LABELS[kind], **dict(counts)} for kind, counts in summary.counts.items()]


def sync_progress(names: list[str]) -> tuple[list, bool]:
    """One badge per platform over everything in the imported buildings."""
    buildings = list(Space.objects.filter(parent__isnull=True, name__in=names))
    units = list(Space.objects.filter(parent__in=buildings).values_list("pk", flat=True))
    wanted: dict = {Space: [b.pk for b in buildings] + units}
    for held in status.unit_contents(units).values():
        for model, pks in held.items():
            wanted.setdefault(model, []).extend(pks)
    all_rows = [row for rows in status.rows_for(wanted, light=True).values() for row in rows]
    badges = status.badges(
        all_rows, registry.enabled(), timezone.now(), status.disconnected_platforms()
    )
    badges = [b for b in badges if b.total]
    return [{"buildings": buildings, "badges": badges}], status.all_settled([badges])


@page
def import_page(request):
    context: dict = {"form": UploadForm()}
    if request.method == "POST" and request.POST.get("action") == "confirm":
        path = upload_path(request.POST.get("upload"))
        if path is None:
            context["file_error"] = _("The uploaded file is gone; upload it again.")
            return page_or_fragment(
                request, "onboarding/import.html", "onboarding/_import.html", context
            )
        names = building_names(path)
        try:
            summary = services.import_buildings(path)
        except (importer.ImportFileError, importer.ImportErrors) as exc:
            context.update(errors_of(exc))
            return page_or_fragment(
                request, "onboarding/import.html", "onboarding/_import.html", context
            )
        path.unlink(missing_ok=True)
        request.session["last_import"] = {"names": names, "counts": counts_dict(summary)}
        return redirect(reverse("pages:import_done"))
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        context["form"] = form
        if form.is_valid():
            upload_id = str(uuid.uuid4())
            path = upload_dir() / f"{upload_id}.csv"
            with path.open("wb") as out:
                for chunk in form.cleaned_data["file"].chunks():
                    out.write(chunk)
            try:
                summary = services.preview_import(path)
            except (importer.ImportFileError, importer.ImportErrors) as exc:
                path.unlink(missing_ok=True)
                context.update(errors_of(exc))
            else:
                context.update(
                    upload=upload_id,
                    counts=counts_table(summary),
                    names=building_names(path),
                    filename=form.cleaned_data["file"].name,
                )
    return page_or_fragment(request, "onboarding/import.html", "onboarding/_import.html", context)


def counts_dict(summary) -> dict:
    return {kind: dict(counts) for kind, counts in summary.counts.items()}


def errors_of(exc) -> dict:
    if isinstance(exc, importer.ImportFileError):
        return {"file_error": str(exc)}
    return {"row_errors": exc.errors}


@page
def import_done(request):
    last = request.session.get("last_import")
    if not last:
        return redirect(reverse("pages:import"))
    progress, settled = sync_progress(last["names"])
    counts = [{"kind": KIND_LABELS[k], **v} for k, v in last["counts"].items()]
    return page_or_fragment(
        request,
        "onboarding/import_done.html",
        "onboarding/_import_progress.html",
        {"progress": progress, "settled": settled, "counts": counts, "names": last["names"]},
    )
