"""The building import: upload the `import_building` CSV, see every bad row and column
(or what it would create and change), confirm, and watch it sync. The same importer
as the command; all or nothing."""

import csv
import datetime
import io
import uuid

from django import forms
from django.conf import settings
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from providers import registry

from .. import importer, services, spreadsheets
from ..models import ImportPreview, Space
from ..page_tasks import forget_expired_import_previews
from ..spreadsheets import Upload
from . import status
from .access import page
from .rendering import page_or_fragment

KIND_LABELS = {
    "buildings": _("Buildings"),
    "units": _("Units"),
    "devices": _("Devices"),
    "tenants": _("Tenants"),
    "invites": _("Invites"),
    # A tenant's Spark parts (only for a file with their columns).
    "meters": _("Meters"),
    "vehicles": _("Vehicles"),
    "resources": _("Resources"),
}
# What each column holds, for the page's list and the template's example row. Columns
# the importer knows and this list does not are listed too, with no description.
COLUMN_HELP = {
    "building": (_("The building's name (unique among buildings)."), "Lindenhof"),
    "address_line_one": (_("Street and number of the building."), "Lindenstrasse 5"),
    "address_line_two": (_("Address line two (optional)."), ""),
    "postcode": (_("Postcode (4 or 5 digits)."), "8004"),
    "city": (_("City."), "Zürich"),
    "category": (_("The unit's kind: FLAT (default), HOUSEHOLD, OFFICE, RETAIL…"), "FLAT"),
    "unit": (_("The unit's name, unique in its building."), "Flat 1"),
    "device_name": (_("The unit's meter (one a row)."), "Main meter"),
    "external_device_id": (_("Our key for the meter on every platform (MeLo, number)."),
                           "CH1001"),
    "medium": (_("ELECTRICITY (default), GAS, WATER or HEATING."), "ELECTRICITY"),
    "device_type": (_("SMART_METER (default), NON_SMART_METER, …"), "SMART_METER"),
    "is_main_device": (_("true/false: the unit's main meter (default true)."), "true"),
    "tenant_name": (_("The tenant's full name (with their e-mail)."), "Ben Keller"),
    "tenant_email": (_("The tenant's e-mail; they get the Zählerfreunde invite."),
                     "ben@example.org"),
    "send_invite_email": (_("true/false: Zählerfreunde e-mails the invite (default true)."),
                          "true"),
    # The tenant's Spark parts (the platforms issue), one set a row.
    "meter_point_id": (_("Volue Spark: the tenant's metering point id."), ""),
    "vehicle_brand": (_("Volue Spark: the tenant's vehicle's brand."), ""),
    "vehicle_model": (_("Volue Spark: its model."), ""),
    "vehicle_year": (_("Volue Spark: its year."), ""),
    "vehicle_vin": (_("Volue Spark: its VIN."), ""),
    "resource_type": (_("Volue Spark: a resource's type, e.g. HotWaterTank."), ""),
    "resource_brand": (_("Volue Spark: the resource's brand."), ""),
    "resource_model": (_("Volue Spark: the resource's model."), ""),
}  # fmt: skip


def columns() -> list[dict]:
    """Every column the importer knows, then those this release's importer does not
    take yet (listed as optional, so a file made for them is understood)."""
    known = list(importer.COLUMNS)
    names = known + [c for c in COLUMN_HELP if c not in known]
    return [
        {"name": name, "required": name in importer.REQUIRED, "known": name in known,
         "help": COLUMN_HELP.get(name, ("", ""))[0], "example": COLUMN_HELP.get(name, ("", ""))[1]}
        for name in names
    ]  # fmt: skip


class UploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV or Excel file"),
        help_text=_(
            "One row per unit, the columns listed below: CSV (comma or semicolon, UTF-8) or "
            "an Excel workbook (.xlsx, its first sheet)."
        ),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        limit = settings.IMPORT_MAX_BYTES
        if upload.size > limit:
            raise forms.ValidationError(
                _("The file is %(size)s; the limit is %(limit)s (IMPORT_MAX_BYTES).")
                % {"size": importer._megabytes(upload.size), "limit": importer._megabytes(limit)}
            )
        return upload


def forget_expired() -> None:
    forget_expired_import_previews()  # beat does it too, every 10 minutes


def preview_of(request) -> ImportPreview | None:
    try:
        pk = uuid.UUID(request.POST.get("upload", ""))
    except ValueError:
        return None
    return ImportPreview.objects.filter(
        pk=pk, uploaded_by=request.user.get_username(), expires_at__gte=timezone.now()
    ).first()


def building_names(source) -> list[str]:
    try:
        _columns, rows, _errors = importer.read_table(source)
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
    forget_expired()
    context: dict = {"form": UploadForm(), "columns": columns()}
    render = lambda: page_or_fragment(  # noqa: E731
        request, "onboarding/import.html", "onboarding/_import.html", context
    )
    if request.method == "POST" and request.POST.get("action") == "confirm":
        preview = preview_of(request)
        if preview is None:
            context["file_error"] = _("The preview has expired or is gone; upload it again.")
            return render()
        source = Upload(preview.filename, bytes(preview.data))
        names = building_names(source)
        try:
            summary = services.import_buildings(source)
        except (importer.ImportFileError, importer.ImportErrors) as exc:
            context.update(errors_of(exc))
            return render()
        preview.delete()
        request.session["last_import"] = {"names": names, "counts": counts_dict(summary)}
        return redirect(reverse("pages:import_done"))
    if request.method == "POST":
        form = UploadForm(request.POST, request.FILES)
        context["form"] = form
        if form.is_valid():
            upload = form.cleaned_data["file"]
            source = Upload(upload.name, b"".join(upload.chunks()))
            try:
                summary = services.preview_import(source)
            except (importer.ImportFileError, importer.ImportErrors) as exc:
                context.update(errors_of(exc))
            else:
                preview = ImportPreview.objects.create(
                    filename=upload.name[:255],
                    data=source.data,
                    uploaded_by=request.user.get_username(),
                    expires_at=timezone.now()
                    + datetime.timedelta(minutes=settings.IMPORT_PREVIEW_MINUTES),
                )
                context.update(
                    upload=preview.pk,
                    expires_at=preview.expires_at,
                    counts=counts_table(summary),
                    names=building_names(source),
                    filename=upload.name,
                )
    return render()


TEMPLATE_NAME = "building-import"


@page
def import_template(request, extension: str):
    """An empty file with every column and one example row, as CSV or .xlsx."""
    if extension not in ("csv", "xlsx"):
        raise Http404
    # Only columns this release reads: a template filled in must import as it is.
    listed = [c for c in columns() if c["known"]]
    header = [c["name"] for c in listed]
    example = [c["example"] for c in listed]
    if extension == "xlsx":
        body = spreadsheets.write_xlsx(header, [example])
        kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        out = io.StringIO()
        writer = csv.writer(out, delimiter=";")
        writer.writerows([header, example])
        body, kind = ("\ufeff" + out.getvalue()).encode(), "text/csv; charset=utf-8"
    response = HttpResponse(body, content_type=kind)
    response["Content-Disposition"] = f'attachment; filename="{TEMPLATE_NAME}.{extension}"'
    return response


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
