"""Download authorizations: bound to the officer, single use, expiring, renewed by a supervisor."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEvent
from evidence import services
from evidence.models import DownloadLink, Export, Requisition, Status
from tests.evidence.factories import RequisitionFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready(opj, magistrate, supervisor, camera):
    requisition = RequisitionFactory(actor=opj, camera=camera, approved_by=magistrate)
    Requisition.objects.filter(pk=requisition.pk).update(status=Status.READY)
    export = Export.objects.create(
        requisition=requisition,
        prepared_by=supervisor,
        state=Export.State.READY,
        progress=100,
        package_sha256="0" * 64,
    )
    requisition.refresh_from_db()
    return requisition, export


def test_release_issues_a_link_and_a_second_release_is_refused(ready, supervisor):
    requisition, _export = ready
    link = services.export_release(requisition=requisition, actor=supervisor)
    assert link.recipient == requisition.officer and link.used_at is None
    with pytest.raises(services.Conflict):
        services.export_release(requisition=requisition, actor=supervisor)


def test_an_expired_link_is_refused_and_audited(ready, supervisor, opj):
    requisition, _export = ready
    link = services.export_release(requisition=requisition, actor=supervisor)
    DownloadLink.objects.filter(pk=link.pk).update(
        issued_at=timezone.now() - timedelta(days=5), expires_at=timezone.now() - timedelta(days=1)
    )
    link.refresh_from_db()
    with pytest.raises(services.DownloadRefused, match="expiré"):
        services.link_use(link=link, actor=opj)
    assert AuditEvent.objects.filter(action="export.download_refused").exists()


def test_another_officer_of_the_same_service_cannot_use_the_link(ready, supervisor, opj):
    from tests.factories import UserFactory

    requisition, _export = ready
    link = services.export_release(requisition=requisition, actor=supervisor)
    colleague = UserFactory(role="opj", service=opj.service)
    with pytest.raises(services.DownloadRefused, match="autre officier"):
        services.link_use(link=link, actor=colleague)
    link.refresh_from_db()
    assert link.used_at is None


def test_a_reissued_link_replaces_the_previous_one(ready, supervisor, opj):
    requisition, _export = ready
    first = services.export_release(requisition=requisition, actor=supervisor)
    second = services.link_reissue(requisition=requisition, actor=supervisor)
    first.refresh_from_db()
    with pytest.raises(services.DownloadRefused, match="remplacé"):
        services.link_use(link=first, actor=opj)
    services.link_use(link=second, actor=opj)
    requisition.refresh_from_db()
    assert requisition.status == Status.HANDED_OVER
    second.refresh_from_db()
    with pytest.raises(services.DownloadRefused, match="déjà été téléchargée"):
        services.link_use(link=second, actor=opj)
    third = services.link_reissue(requisition=requisition, actor=supervisor)
    services.link_use(link=third, actor=opj)  # a supervisor's reissue allows a second download
