"""Who may read /metrics: a scraper presenting METRICS_TOKEN (`Authorization: Bearer …`),
or one connecting from METRICS_ALLOWED_NETWORKS (by default this host only).

Behind a reverse proxy every request comes from the proxy's address: then either keep
/metrics off the proxy (scrape the web process directly) or use the token.
"""

import hmac
import ipaddress

from django.conf import settings


def allowed(request) -> bool:
    token = settings.METRICS_TOKEN
    given = request.headers.get("Authorization", "")
    if token and hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
        return True
    try:
        address = ipaddress.ip_address(request.META.get("REMOTE_ADDR", ""))
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net) for net in settings.METRICS_ALLOWED_NETWORKS)
