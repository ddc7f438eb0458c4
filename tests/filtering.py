"""One filter, two doors: what the list page and its API say of the same query."""

from __future__ import annotations

from html import unescape

from django.test import Client


def page_errors(client: Client, url: str, params: dict[str, str]) -> dict[str, list[str]]:
    """The filter form's errors on the page, each also checked to be shown."""
    response = client.get(url, params)
    assert response.status_code == 200, response.status_code
    errors = {name: list(messages) for name, messages in response.context["form"].errors.items()}
    shown = unescape(response.content.decode())
    for messages in errors.values():
        for message in messages:
            assert message in shown, message
    return errors


def api_errors(client: Client, url: str, params: dict[str, str]) -> dict[str, list[str]]:
    response = client.get(url, params)
    assert response.status_code == 400, (response.status_code, response.content)
    return response.json()


def assert_refused_alike(
    client: Client, page: str, api: str, params: dict[str, str], field: str, message: str
) -> None:
    """The page shows ``message`` beside ``field``; the API answers 400 {field: [message]}."""
    on_page = page_errors(client, page, params)
    on_api = api_errors(client, api, params)
    assert on_page == on_api == {field: [message]}, (on_page, on_api)
