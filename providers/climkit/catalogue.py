"""What the Climkit account holds, as catalogue items (no Django here).

Sites, their meters (parent: the site) and their sensors. Climkit's listings carry no
readings, and fetching one per meter would cost a request each out of a budget of one
per second, so `last_value` stays empty; the readings pull fills values later.
Calls: 1 + 3 per site (infos, meters, sensors), each taking its turn in the budget.
"""

from ..catalogue import CatalogueItem
from ..errors import NotFoundError


def fetch(client) -> list[CatalogueItem]:
    items: list[CatalogueItem] = []
    for site_id in client.all_installations():
        info = client.installation_infos(site_id)
        items.append(
            CatalogueItem(
                kind="site",
                remote_id=site_id,
                name=str(info.get("name") or info.get("site_ref") or site_id),
                serial=str(info.get("site_ref") or ""),
                raw={"id": site_id, **info},
            )
        )
        for meter in client.meter_info(site_id):
            items.append(
                CatalogueItem(
                    kind="meter",
                    remote_id=str(meter["id"]),
                    name=str(meter.get("name") or meter["id"]),
                    medium=str(meter.get("type") or ""),
                    parent=("site", site_id),
                    raw={**meter, "site_id": site_id},
                )
            )
        try:
            sensors = client.sensors_list(site_id)
        except NotFoundError:  # a site without the sensor option
            sensors = []
        for sensor in sensors:
            items.append(
                CatalogueItem(
                    kind="sensor",
                    remote_id=str(sensor["id"]),
                    name=str(sensor.get("name") or sensor["id"]),
                    medium=str(sensor.get("type") or ""),
                    parent=("site", site_id),
                    last_value_unit=str(sensor.get("unit") or ""),
                    raw={**sensor, "site_id": site_id},
                )
            )
    return items
