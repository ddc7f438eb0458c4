"""The API documentation: behind the sign-in page, and in French for every operation."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from csu.api_docs import OPERATIONS, TAGS

pytestmark = pytest.mark.django_db

#: Words that give away an English sentence (the views' docstrings are English).
ENGLISH = re.compile(r"\b(the|of|and|is|are|with|for|from|this|its|which|when|by)\b", re.I)


@pytest.mark.parametrize("url", ["/api/docs/", "/api/schema/", "/api/docs/?script="])
def test_a_signed_out_visitor_is_sent_to_the_sign_in_page(url):
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/comptes/login/?next=")
    assert "/api/" in response["Location"]


def test_an_api_client_without_a_valid_token_gets_a_json_error():
    response = Client().get("/api/schema/?format=json", HTTP_AUTHORIZATION="Token inconnu")
    assert response.status_code in (401, 403)
    assert "detail" in response.json()


def test_a_signed_in_person_reads_the_documentation(signed_in, supervisor):
    client = signed_in(supervisor)
    page = client.get("/api/docs/")
    assert page.status_code == 200
    assert client.get("/api/schema/").status_code == 200


def _schema(client: Client) -> dict:
    response = client.get("/api/schema/?format=json")
    assert response.status_code == 200
    return response.json()


def test_every_operation_is_documented_in_french(signed_in, supervisor):
    schema = _schema(signed_in(supervisor))
    assert schema["info"]["title"] == "API du centre de supervision urbain"
    assert not ENGLISH.search(schema["info"]["description"])
    undocumented, english = [], []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            summary = operation.get("summary", "")
            description = operation.get("description", "")
            if operation["operationId"] not in OPERATIONS or not summary or not description:
                undocumented.append(f"{method.upper()} {path} ({operation['operationId']})")
            elif ENGLISH.search(summary) or ENGLISH.search(description):
                english.append(operation["operationId"])
    assert not undocumented, "add a French summary and description in csu/api_docs.py"
    assert not english
    operation_ids = {
        operation["operationId"]
        for operations in schema["paths"].values()
        for operation in operations.values()
    }
    assert set(OPERATIONS) == operation_ids, "an entry of csu/api_docs.py matches no endpoint"


def test_tags_are_french(signed_in, supervisor):
    schema = _schema(signed_in(supervisor))
    french = {name for name, _description in TAGS.values()}
    used = {tag for ops in schema["paths"].values() for op in ops.values() for tag in op["tags"]}
    assert used <= french, used - french
    assert {tag["name"] for tag in schema["tags"]} == used
    assert all(tag["description"] for tag in schema["tags"])
