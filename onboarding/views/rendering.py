"""Whole page or fragment: htmx asks for the fragment, a plain or boosted request (a
browser without JavaScript, or hx-boost's navigation) gets the whole page.

A fragment is for a request aimed at an element of the page (HX-Target). A request
htmx makes to follow HX-Location swaps the whole body and names no target: it gets
the whole page too.
"""

from django.shortcuts import render


def wants_fragment(request) -> bool:
    return bool(request.htmx) and not request.htmx.boosted and bool(request.htmx.target)


def page_or_fragment(request, page: str, fragment: str, context: dict, status: int = 200):
    template = fragment if wants_fragment(request) else page
    return render(request, template, context, status=status)
