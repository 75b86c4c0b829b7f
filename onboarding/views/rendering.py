"""Whole page or fragment: htmx asks for the fragment, a plain or boosted request (a
browser without JavaScript, or hx-boost's navigation) gets the whole page."""

from django.shortcuts import render


def wants_fragment(request) -> bool:
    return bool(request.htmx) and not request.htmx.boosted


def page_or_fragment(request, page: str, fragment: str, context: dict, status: int = 200):
    template = fragment if wants_fragment(request) else page
    return render(request, template, context, status=status)
