"""Small template helpers for the portal's pages."""

from django import template
from django.utils.html import format_html_join

from .. import sync_words

register = template.Library()


@register.simple_tag
def field_widget(field, **attrs):
    """The field's widget tied to its help and error texts (aria-describedby), marked
    invalid when it has errors: a screen reader reads the error with the field."""
    described = []
    if field.errors:
        described.append(f"{field.auto_id}_errors")
        attrs["aria-invalid"] = "true"
    if field.help_text:
        described.append(f"{field.auto_id}_help")
    if described:
        attrs["aria-describedby"] = " ".join(described)
    return field.as_widget(attrs=attrs)


@register.simple_tag
def hidden_query(request, *drop):
    """The current query string as hidden inputs, less the names given (for forms
    that change one filter and keep the others)."""
    items = [(k, v) for k, values in request.GET.lists() for v in values if k not in drop]
    return format_html_join("", '<input type="hidden" name="{}" value="{}">', items)


@register.simple_tag
def query_with(request, **changes):
    """The current query string with some parameters changed (for pager links)."""
    params = request.GET.copy()
    for key, value in changes.items():
        params[key] = value
    return "?" + params.urlencode()


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None


@register.filter
def stored_words(text):
    """A text stored in English (an outbox row's reason, an object's name as queued) in
    the page's language, when it is one onboarding/sync_words.py knows."""
    return sync_words.translate(text) if isinstance(text, str) else text
