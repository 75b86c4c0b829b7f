"""`manage.py import_building FILE.csv`: the parsing and planning live in importer.py."""

import argparse

from django.core.management.base import BaseCommand, CommandError

from onboarding import importer

HELP = """\
Import buildings, their units, meters, tenants and invites from a CSV file.

One row per unit; several buildings may share a file (rows grouped by `building`).
Delimiter comma or semicolon, UTF-8 with or without BOM, header names in any order:
  building*, address_line_one*, address_line_two, postcode*, city*, category, unit*,
  device_name, external_device_id, medium, device_type, is_main_device,
  tenant_name, tenant_email, send_invite_email,
  meter_point_id, vehicle_brand, vehicle_model, vehicle_year, vehicle_vin,
  resource_type, resource_brand, resource_model                     (* required)

- The address columns are the building's and must be the same on all its rows; units
  keep no address of their own and are sent with their building's.
- `category` is the unit's (default FLAT). A new building is an APARTMENT_BUILDING; an
  existing building's category is never changed by an import.
- A device is created when `device_name` is given: medium ELECTRICITY, device_type
  SMART_METER and is_main_device true unless given. Matched by external_device_id when
  given, else by its name in the unit; an empty external_device_id never clears one.
- With `tenant_email`, the unit gets that tenant (tenant_name required) and an invite
  (send_invite_email default true).
- A tenant's Volue Spark parts, one set per row (each needs tenant_email): a meter by
  `meter_point_id` (its location type from the unit: a flat is residential, a shop or
  office commercial); a vehicle by `vehicle_brand` and `vehicle_model` (year and VIN
  optional; matched by VIN, else by brand and model); a resource by `resource_type`
  (HotWaterTank, HeatPump, Battery, ElectricBoiler, Charger, HVAC, SolarInverter or
  Generic; one of each type per tenant) with optional brand and model, bound to the
  row's meter. A meter or VIN of another tenant is refused: move it by hand.
- Booleans: true/false, yes/no, ja/nein, 1/0. An empty cell means the default; a column
  left out of the file leaves that value alone on objects that already exist.

The whole file is checked first: every bad row and column is listed and nothing is
written. Importing the same file again changes nothing; changed and new objects are
marked for sync to the platforms.
"""


class Command(BaseCommand):
    help = HELP

    def create_parser(self, prog_name, subcommand, **kwargs):
        # Keep the help's line breaks: it is a list of columns and rules.
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        return super().create_parser(prog_name, subcommand, **kwargs)

    def add_arguments(self, parser):
        parser.add_argument("file", help="the CSV file, one row per unit")

    def handle(self, *args, file, **options):
        try:
            summary = importer.import_file(file)
        except importer.ImportFileError as exc:
            raise CommandError(str(exc)) from None
        except importer.ImportErrors as exc:
            for error in exc.errors:
                self.stderr.write(str(error))
            raise CommandError(
                f"{len(exc.errors)} error(s) in {file}; nothing was imported."
            ) from None
        self.stdout.write(f"{'':<10}{'created':>9}{'updated':>9}{'unchanged':>11}")
        for kind, counts in summary.counts.items():
            self.stdout.write(
                f"{kind:<10}{counts['created']:>9}{counts['updated']:>9}{counts['unchanged']:>11}"
            )
        self.stdout.write(f"Rows marked for sync: {summary.marked}")
