"""Which of Spark's two forms the sandbox serves: the one the portal's SPARK_API names.

One setting for both sides, read at each request: `make run`, the tests' live server and
their worker processes always agree on the form (docs/spark.md). A path only the other
form has is a 404, as it would be on that platform.
"""

from django.conf import settings
from django.views.decorators.csrf import csrf_exempt

from .problems import problem


def is_current() -> bool:
    return settings.SPARK_API != "guide"


def by_form(*, guide=None, current=None):
    """A view serving `guide` or `current` (each an api() view), as SPARK_API says."""

    @csrf_exempt
    def view(request, *args, **kwargs):
        chosen = current if is_current() else guide
        if chosen is None:
            form = "current" if is_current() else "guide"
            return problem(404, f"No such path in Spark's {form} API: {request.path}")
        return chosen(request, *args, **kwargs)

    return view
