"""Every article the product cites is in the one table of references (csu.lib.legal).

The code and the templates are read for citations of the code de la sécurité intérieure
("CSI L252-5", "article L253-5"), of the code de procédure pénale ("art. 77-1-1 CPP"), of the
RGPD ("RGPD art. 30", "article 30 du RGPD") and of the loi Informatique et Libertés: an article
that the table does not hold is a free-typed reference (a typo, or a page that says another
thing than the others).
"""

from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings
from django.test import Client

from csu.lib import legal

BASE = Path(settings.BASE_DIR)
FOLDERS = ["accounts", "audit", "cameras", "compliance", "evidence", "live", "operations"]
FOLDERS += ["recordings", "csu", "templates"]

PATTERNS = [
    ("CSI", re.compile(r"\b(L25\d-\d+)\b")),
    ("CPP", re.compile(r"\b(\d{2,3}(?:-\d+){1,2}) (?:du )?(?:CPP|code de procédure pénale)")),
    ("RGPD", re.compile(r"\bRGPD,? art(?:icle|\.)? ?(\d+)")),
    ("RGPD", re.compile(r"\barticle (\d+) du RGPD")),
    ("LIL", re.compile(r"\b(?:LIL|Informatique et Libertés),? art(?:icle|\.)? ?(\d+)")),
]


def citations() -> list[tuple[str, str, str]]:
    """(file, source, article) of every citation in our code and templates."""
    found = []
    for folder in FOLDERS:
        for path in (BASE / folder).rglob("*"):
            if path.suffix not in {".py", ".html", ".txt"} or "migrations" in path.parts:
                continue
            text = path.read_text(encoding="utf-8")
            for source, pattern in PATTERNS:
                for match in pattern.finditer(text):
                    found.append((str(path.relative_to(BASE)), source, match.group(1)))
    return found


def test_every_cited_article_is_in_the_table_of_references():
    found = citations()
    assert len(found) > 50  # the reading finds the citations
    unknown = sorted(
        {f"{where}: {source} {article}" for where, source, article in found}
        - {
            f"{where}: {source} {article}"
            for where, source, article in found
            if legal.reference(source, article)
        }
    )
    assert not unknown, "Articles cited but not in csu.lib.legal.REFERENCES:\n" + "\n".join(unknown)


def test_the_table_cites_each_article_in_its_short_form():
    assert legal.BY_CITATION["CSI L252-5"].source_name == "code de la sécurité intérieure"
    assert legal.cite("art. 77-1-1 CPP") == "art. 77-1-1 CPP"
    assert legal.cite("RGPD art. 30") == "RGPD art. 30"
    assert len(legal.BY_CITATION) == len(legal.REFERENCES)


def test_the_public_page_lists_the_references_from_the_table(db):
    page = Client().get("/public/information/").content.decode()
    for citation in ("CSI L251-2", "CSI L252-5", "CSI L253-5", "RGPD art. 15"):
        entry = legal.BY_CITATION[citation]
        assert citation in page and str(entry.subject).replace("'", "&#x27;") in page
