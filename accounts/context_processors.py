from __future__ import annotations

from django.http import HttpRequest

from accounts.navigation import items_for, sections_for, shortcuts_for


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    if user is None:
        return {"nav_items": [], "nav_sections": [], "shortcuts": [], "search_shortcut": None}
    items = items_for(user)
    shortcuts = shortcuts_for(user)
    return {
        "nav_items": items,
        "nav_sections": sections_for(items),
        # The search key "/" is shown apart: it first looks for the page's own search field.
        "shortcuts": [shortcut for shortcut in shortcuts if shortcut["key"] != "/"],
        "search_shortcut": next((s for s in shortcuts if s["key"] == "/"), None),
    }
