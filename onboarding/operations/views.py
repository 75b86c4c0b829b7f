"""/healthz, /readyz and /metrics: for load balancers, orchestrators and Prometheus.

No login, no session, no CSRF: they are read by machines. /healthz and /readyz say
nothing secret (which check failed and why, never a password); /metrics is guarded by
token or network (access.py).
"""

from django.conf import settings
from django.http import HttpResponse, HttpResponseForbidden, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_safe
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client import REGISTRY as PROCESS_REGISTRY

from . import access, health
from .collectors import DatabaseCollector


@require_safe
@never_cache
def healthz(request):
    """The process lives and answers; nothing else is looked at."""
    return JsonResponse({"status": "ok"})


@require_safe
@never_cache
def readyz(request):
    """200 when every check passes, else 503; `?checks=database,broker` picks checks (a
    load balancer in front of web pages may not want a platform's outage to count)."""
    only = [c for c in request.GET.get("checks", "").split(",") if c] or None
    ready, results = health.run(only)
    body = {
        "status": "ready" if ready else "not ready",
        "checks": {
            name: (
                {platform: check.as_json() for platform, check in value.items()}
                if isinstance(value, dict)
                else value.as_json()
            )
            for name, value in results.items()
        },
    }
    return JsonResponse(body, status=200 if ready else 503)


@require_safe
@never_cache
def metrics(request):
    if not access.allowed(request):
        return HttpResponseForbidden("metrics: token or allowed network required\n")
    registry = CollectorRegistry()
    if settings.PROMETHEUS_MULTIPROC_DIR:
        from prometheus_client import multiprocess

        # Every process's counts (gunicorn workers, Celery's pool), added up.
        multiprocess.MultiProcessCollector(registry, path=settings.PROMETHEUS_MULTIPROC_DIR)
    else:
        registry = PROCESS_REGISTRY  # this process alone (runserver, tests)
    output = generate_latest(registry) + generate_latest(_database_registry())
    return HttpResponse(output, content_type=CONTENT_TYPE_LATEST)


def _database_registry() -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector())
    return registry
