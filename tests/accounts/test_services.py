"""The write functions refuse what the pages refuse, whoever calls them."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts import services
from audit.models import AuditEvent
from tests.factories import HabilitationFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("reason", ["", "  \n "])
def test_habilitation_revoke_refuses_an_empty_reason(admin_user, reason):
    habilitation = HabilitationFactory()
    with pytest.raises(ValidationError) as refused:
        services.habilitation_revoke(habilitation=habilitation, actor=admin_user, reason=reason)
    assert "reason" in refused.value.message_dict
    habilitation.refresh_from_db()
    assert habilitation.revoked_at is None
    assert not AuditEvent.objects.filter(action="habilitation.revoked").exists()


def test_habilitation_revoke_twice_records_once(admin_user):
    habilitation = HabilitationFactory()
    services.habilitation_revoke(habilitation=habilitation, actor=admin_user, reason=" départ ")
    first = habilitation.revoked_at
    services.habilitation_revoke(habilitation=habilitation, actor=admin_user, reason="encore")
    assert habilitation.revoked_at == first
    assert habilitation.revocation_reason == "départ"
    assert AuditEvent.objects.filter(action="habilitation.revoked").count() == 1


def test_second_factor_reset_refuses_an_empty_reason(admin_user):
    user = UserFactory()
    TOTPDevice.objects.create(user=user, name="TOTP", confirmed=True)
    with pytest.raises(ValidationError):
        services.second_factor_reset(user=user, actor=admin_user, reason=" ")
    assert TOTPDevice.objects.filter(user=user).exists()


def test_revoked_habilitation_cannot_be_updated(admin_user):
    habilitation = HabilitationFactory()
    services.habilitation_revoke(habilitation=habilitation, actor=admin_user, reason="fin")
    with pytest.raises(ValidationError):
        services.habilitation_update(habilitation=habilitation, actor=admin_user, issuer="Préfet")
