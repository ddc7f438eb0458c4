"""The administrator's pages on people and habilitations: who may use them, and what they do."""

from __future__ import annotations

from datetime import timedelta
from itertools import count

import pytest
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import Habilitation, User
from accounts.roles import Role
from audit.models import AuditEvent
from tests.cameras.factories import CameraFactory
from tests.factories import HabilitationFactory, ServiceFactory, UserFactory
from tests.permissions import check_matrix

pytestmark = pytest.mark.django_db

READERS = [Role.ADMIN, Role.DPO]
MANAGERS = [Role.ADMIN]
STRONG = "Une-phrase-de-passe-2026!"


def events(action: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(action=action).order_by("seq"))


@pytest.fixture(autouse=True)
def _register():
    """The cameras and sectors the habilitations below name exist in the register."""
    CameraFactory(code="CAM-001", sector="centre-ville")
    CameraFactory(code="CAM-014", sector="gare")


def habilitation_post(**overrides) -> dict:
    today = timezone.localdate()
    data = {
        "decision_reference": "ARR-2026-0100",
        "issuer": "Maire de Chambéry",
        "valid_from": today.isoformat(),
        "valid_until": (today + timedelta(days=365)).isoformat(),
        "sectors": "centre-ville, gare",
        "camera_codes": "CAM-001 , CAM-014,",
        "can_live": "on",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


# --- Permission matrix --------------------------------------------------------------------------


def test_reading_pages_are_for_admins_and_the_dpo():
    account = UserFactory(role=Role.OPERATOR)
    habilitation = HabilitationFactory(user=account)
    for url in [
        "/comptes/utilisateurs/",
        "/comptes/utilisateurs/?role=operator&active=1",
        f"/comptes/utilisateurs/{account.pk}/",
        "/comptes/habilitations/",
        "/comptes/habilitations/?state=expiring",
        f"/comptes/habilitations/{habilitation.pk}/",
    ]:
        check_matrix(url=url, allowed=READERS)


def test_forms_are_for_admins_only():
    account = UserFactory(role=Role.OPERATOR)
    habilitation = HabilitationFactory(user=account)
    for url in [
        "/comptes/utilisateurs/nouveau/",
        f"/comptes/utilisateurs/{account.pk}/modifier/",
        f"/comptes/utilisateurs/{account.pk}/second-facteur/",
        f"/comptes/utilisateurs/{account.pk}/formation/",
        "/comptes/habilitations/nouvelle/",
        f"/comptes/habilitations/{habilitation.pk}/modifier/",
        f"/comptes/habilitations/{habilitation.pk}/retirer/",
    ]:
        check_matrix(url=url, allowed=MANAGERS)


def test_create_user_post_is_for_admins_only():
    numbers = count()

    def data():
        return {
            "username": f"agent{next(numbers)}",
            "first_name": "Jeanne",
            "last_name": "Martin",
            "role": Role.OPERATOR,
            "password1": STRONG,
            "password2": STRONG,
        }

    check_matrix(
        url="/comptes/utilisateurs/nouveau/", method="post", data=data, allowed=MANAGERS, ok=[302]
    )


def test_edit_user_post_is_for_admins_only():
    account = UserFactory(role=Role.OPERATOR)
    check_matrix(
        url=f"/comptes/utilisateurs/{account.pk}/modifier/",
        method="post",
        data={"first_name": "Paul", "last_name": "Durand", "role": Role.SUPERVISOR},
        allowed=MANAGERS,
        ok=[302],
    )


@pytest.mark.parametrize("action", ["desactiver", "reactiver"])
def test_activation_posts_are_for_admins_only(action):
    def url():
        account = UserFactory(role=Role.OPERATOR, is_active=action == "reactiver")
        return f"/comptes/utilisateurs/{account.pk}/{action}/"

    check_matrix(url=url, method="post", allowed=MANAGERS, ok=[302])


def test_second_factor_reset_post_is_for_admins_only():
    def url():
        return f"/comptes/utilisateurs/{UserFactory().pk}/second-facteur/"

    check_matrix(
        url=url, method="post", data={"reason": "téléphone perdu"}, allowed=MANAGERS, ok=[302]
    )


def test_habilitation_posts_are_for_admins_only():
    holder = UserFactory(role=Role.OPERATOR)
    check_matrix(
        url="/comptes/habilitations/nouvelle/",
        method="post",
        data=lambda: habilitation_post(user=holder.pk),
        allowed=MANAGERS,
        ok=[302],
    )
    habilitation = HabilitationFactory(user=holder)
    check_matrix(
        url=f"/comptes/habilitations/{habilitation.pk}/modifier/",
        method="post",
        data=habilitation_post(),
        allowed=MANAGERS,
        ok=[302],
    )

    def revoke_url():
        return f"/comptes/habilitations/{HabilitationFactory().pk}/retirer/"

    check_matrix(
        url=revoke_url, method="post", data={"reason": "fin de mission"}, allowed=MANAGERS, ok=[302]
    )


def test_deactivation_refuses_get(signed_in, admin_user):
    account = UserFactory()
    response = signed_in(admin_user).get(f"/comptes/utilisateurs/{account.pk}/desactiver/")
    assert response.status_code == 405
    account.refresh_from_db()
    assert account.is_active


def test_changes_need_the_csrf_token(admin_user):
    from django.test import Client

    from tests.conftest import sign_in

    client = sign_in(Client(enforce_csrf_checks=True), admin_user)
    account = UserFactory()
    response = client.post(f"/comptes/utilisateurs/{account.pk}/desactiver/")
    assert response.status_code == 403
    account.refresh_from_db()
    assert account.is_active


def test_dpo_reads_without_the_buttons_to_change(signed_in, dpo):
    account = UserFactory(role=Role.OPERATOR)
    response = signed_in(dpo).get(f"/comptes/utilisateurs/{account.pk}/")
    assert response.status_code == 200
    assert f"/comptes/utilisateurs/{account.pk}/modifier/" not in response.content.decode()


# --- Lists and details --------------------------------------------------------------------------


def test_user_list_filters_by_role_service_and_state(signed_in, admin_user, police_service):
    opj = UserFactory(username="opj.dupont", role=Role.OPJ, service=police_service)
    UserFactory(username="operateur.actif", role=Role.OPERATOR)
    UserFactory(username="operateur.parti", role=Role.OPERATOR, is_active=False)
    client = signed_in(admin_user)

    def names(query: str) -> set[str]:
        response = client.get(f"/comptes/utilisateurs/?{query}")
        assert response.status_code == 200
        return {u.username for u in response.context["page"].object_list}

    assert names("role=operator") == {"operateur.actif", "operateur.parti"}
    assert names("role=operator&active=1") == {"operateur.actif"}
    assert names("active=0") == {"operateur.parti"}
    assert names(f"service={police_service.pk}") == {opj.username}
    assert names("q=dupont") == {opj.username}


def test_user_list_query_count_does_not_grow_with_users(
    signed_in, admin_user, django_assert_max_num_queries
):
    for _ in range(30):
        HabilitationFactory(user=UserFactory(service=ServiceFactory()))
    client = signed_in(admin_user)
    with django_assert_max_num_queries(12):
        assert client.get("/comptes/utilisateurs/").status_code == 200


def test_habilitation_list_filters_by_state(signed_in, dpo):
    today = timezone.localdate()
    valid = HabilitationFactory(decision_reference="VALIDE")
    expiring = HabilitationFactory(
        decision_reference="BIENTOT", valid_until=today + timedelta(days=10)
    )
    expired = HabilitationFactory(
        decision_reference="EXPIREE",
        valid_from=today - timedelta(days=400),
        valid_until=today - timedelta(days=1),
    )
    revoked = HabilitationFactory(
        decision_reference="RETIREE", revoked_at=timezone.now(), revocation_reason="mutation"
    )
    client = signed_in(dpo)

    def refs(state: str) -> set[str]:
        response = client.get(f"/comptes/habilitations/?state={state}")
        assert response.status_code == 200
        return {h.decision_reference for h, _state in response.context["rows"]}

    assert refs("valid") == {valid.decision_reference, expiring.decision_reference}
    assert refs("expiring") == {expiring.decision_reference}
    assert refs("expired") == {expired.decision_reference}
    assert refs("revoked") == {revoked.decision_reference}
    assert len(refs("")) == 4


def test_habilitation_list_query_count(signed_in, admin_user, django_assert_max_num_queries):
    for _ in range(30):
        HabilitationFactory()
    client = signed_in(admin_user)
    with django_assert_max_num_queries(10):
        assert client.get("/comptes/habilitations/").status_code == 200


def test_user_detail_shows_second_factor_habilitations_and_sign_ins(signed_in, admin_user):
    from audit.services import record

    account = UserFactory(role=Role.OPERATOR, badge_number="A-4521")
    TOTPDevice.objects.create(user=account, name="TOTP", confirmed=True)
    habilitation = HabilitationFactory(user=account, decision_reference="ARR-2026-0007")
    sign_in = record("auth.login", actor=account, target=account)
    failed = record("auth.login_failed", target_type="accounts.user", target_label=account.username)
    response = signed_in(admin_user).get(f"/comptes/utilisateurs/{account.pk}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "A-4521" in page
    assert "ARR-2026-0007" in page
    assert response.context["second_factor"] == "enrolled"
    assert list(response.context["history"]["sign_ins"]) == [sign_in]
    assert list(response.context["history"]["failures"]) == [failed]
    assert response.context["habilitations"][0][0] == habilitation


# --- Happy paths --------------------------------------------------------------------------------


def test_admin_creates_a_user(signed_in, admin_user, police_service):
    response = signed_in(admin_user).post(
        "/comptes/utilisateurs/nouveau/",
        {
            "username": "opj.leroy",
            "first_name": "Claire",
            "last_name": "Leroy",
            "email": "claire.leroy@interieur.gouv.fr",
            "role": Role.OPJ,
            "service": police_service.pk,
            "badge_number": "RIO-1234567",
            "password1": STRONG,
            "password2": STRONG,
        },
    )
    created = User.objects.get(username="opj.leroy")
    assert response.status_code == 302
    assert response["Location"] == f"/comptes/utilisateurs/{created.pk}/"
    assert created.role == Role.OPJ and created.service == police_service
    assert created.badge_number == "RIO-1234567"
    assert created.check_password(STRONG)
    [event] = events("account.created")
    assert event.actor_id == admin_user.pk and event.target_id == str(created.pk)


def test_role_change_is_audited(signed_in, admin_user):
    account = UserFactory(role=Role.OPERATOR, first_name="Ana", last_name="Silva")
    response = signed_in(admin_user).post(
        f"/comptes/utilisateurs/{account.pk}/modifier/",
        {"first_name": "Ana", "last_name": "Silva", "role": Role.SUPERVISOR},
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.role == Role.SUPERVISOR
    [event] = events("account.role_changed")
    assert event.details == {"role": [Role.OPERATOR, Role.SUPERVISOR]}
    assert event.actor_id == admin_user.pk


def test_deactivation_keeps_the_account_and_is_audited(signed_in, admin_user):
    account = UserFactory()
    client = signed_in(admin_user)
    assert client.post(f"/comptes/utilisateurs/{account.pk}/desactiver/").status_code == 302
    account.refresh_from_db()
    assert not account.is_active
    assert len(events("account.deactivated")) == 1
    assert client.post(f"/comptes/utilisateurs/{account.pk}/reactiver/").status_code == 302
    account.refresh_from_db()
    assert account.is_active
    assert len(events("account.reactivated")) == 1


def test_admin_cannot_deactivate_themselves(signed_in, admin_user):
    signed_in(admin_user).post(f"/comptes/utilisateurs/{admin_user.pk}/desactiver/")
    admin_user.refresh_from_db()
    assert admin_user.is_active
    assert not events("account.deactivated")


def test_second_factor_reset_removes_devices_and_is_audited(signed_in, admin_user):
    account = UserFactory(role=Role.OPERATOR)
    TOTPDevice.objects.create(user=account, name="TOTP", confirmed=True)
    response = signed_in(admin_user).post(
        f"/comptes/utilisateurs/{account.pk}/second-facteur/", {"reason": "téléphone volé"}
    )
    assert response.status_code == 302
    assert not TOTPDevice.objects.filter(user=account).exists()
    [event] = events("auth.second_factor_reset")
    assert event.reason == "téléphone volé" and event.target_id == str(account.pk)


def test_admin_grants_a_habilitation_with_comma_separated_scope(signed_in, admin_user):
    holder = UserFactory(role=Role.SUPERVISOR)
    response = signed_in(admin_user).post(
        "/comptes/habilitations/nouvelle/",
        habilitation_post(user=holder.pk, can_replay="on", can_extract="on"),
    )
    habilitation = Habilitation.objects.get(user=holder)
    assert response.status_code == 302
    assert habilitation.sectors == ["centre-ville", "gare"]
    assert habilitation.camera_codes == ["CAM-001", "CAM-014"]
    assert habilitation.rights == ["live", "replay", "extract"]
    assert habilitation.created_by == admin_user
    assert len(events("habilitation.created")) == 1


def test_admin_edits_a_habilitation(signed_in, admin_user):
    habilitation = HabilitationFactory(user=UserFactory(role=Role.OPERATOR), sectors=["gare"])
    response = signed_in(admin_user).post(
        f"/comptes/habilitations/{habilitation.pk}/modifier/",
        habilitation_post(all_cameras="on", sectors="centre-ville", camera_codes=""),
    )
    assert response.status_code == 302
    habilitation.refresh_from_db()
    assert habilitation.all_cameras and habilitation.sectors == []
    [event] = events("habilitation.updated")
    assert "all_cameras" in event.details["changes"]


def test_revocation_is_audited_with_its_reason(signed_in, admin_user):
    habilitation = HabilitationFactory()
    response = signed_in(admin_user).post(
        f"/comptes/habilitations/{habilitation.pk}/retirer/", {"reason": "mutation à Lyon"}
    )
    assert response.status_code == 302
    habilitation.refresh_from_db()
    assert habilitation.revoked_at is not None
    assert habilitation.revocation_reason == "mutation à Lyon"
    [event] = events("habilitation.revoked")
    assert event.reason == "mutation à Lyon"


def test_revoked_habilitation_cannot_be_edited(signed_in, admin_user):
    habilitation = HabilitationFactory(revoked_at=timezone.now(), revocation_reason="fin")
    response = signed_in(admin_user).post(
        f"/comptes/habilitations/{habilitation.pk}/modifier/", habilitation_post()
    )
    assert response.status_code == 302
    habilitation.refresh_from_db()
    assert habilitation.decision_reference != "ARR-2026-0100"
    assert not events("habilitation.updated")


# --- Bad input: a precise message, nothing saved ------------------------------------------------


def _nothing_saved_for_user(response, field: str, message: str) -> None:
    assert response.status_code == 200
    assert message in response.content.decode()
    assert message in " ".join(str(e) for e in response.context["form"].errors.get(field, []))


def test_weak_password_is_refused_with_the_cnil_message(signed_in, admin_user):
    response = signed_in(admin_user).post(
        "/comptes/utilisateurs/nouveau/",
        {
            "username": "faible",
            "first_name": "Léa",
            "last_name": "Petit",
            "role": Role.OPERATOR,
            "password1": "motdepasse12",
            "password2": "motdepasse12",
        },
    )
    _nothing_saved_for_user(
        response, "password1", "doit contenir des minuscules, des majuscules, des chiffres"
    )
    assert not User.objects.filter(username="faible").exists()
    assert not events("account.created")


def test_short_password_and_mismatch_are_refused(signed_in, admin_user):
    client = signed_in(admin_user)
    base = {"username": "court", "first_name": "A", "last_name": "B", "role": Role.OPERATOR}
    short = client.post(
        "/comptes/utilisateurs/nouveau/", {**base, "password1": "Ab1!x", "password2": "Ab1!x"}
    )
    assert short.status_code == 200
    assert "Ce mot de passe est trop court" in short.content.decode()
    mismatch = client.post(
        "/comptes/utilisateurs/nouveau/",
        {**base, "password1": STRONG, "password2": STRONG + "x"},
    )
    _nothing_saved_for_user(mismatch, "password2", "Les deux mots de passe ne correspondent pas.")
    assert not User.objects.filter(username="court").exists()


def test_duplicate_username_and_opj_without_service_are_refused(signed_in, admin_user):
    UserFactory(username="deja.pris")
    client = signed_in(admin_user)
    base = {"first_name": "A", "last_name": "B", "password1": STRONG, "password2": STRONG}
    taken = client.post(
        "/comptes/utilisateurs/nouveau/", {**base, "username": "Deja.Pris", "role": "operator"}
    )
    _nothing_saved_for_user(taken, "username", "Cet identifiant est déjà utilisé.")
    lonely = client.post(
        "/comptes/utilisateurs/nouveau/", {**base, "username": "opj.seul", "role": Role.OPJ}
    )
    _nothing_saved_for_user(
        lonely, "service", "Un officier de police judiciaire doit être rattaché à un service."
    )
    assert not User.objects.filter(username="opj.seul").exists()


def test_admin_cannot_change_their_own_role(signed_in, admin_user):
    response = signed_in(admin_user).post(
        f"/comptes/utilisateurs/{admin_user.pk}/modifier/",
        {"first_name": "A", "last_name": "B", "role": Role.SUPERVISOR},
    )
    _nothing_saved_for_user(response, "role", "Vous ne pouvez pas changer votre propre rôle")
    admin_user.refresh_from_db()
    assert admin_user.role == Role.ADMIN


def test_habilitation_dates_in_wrong_order_are_refused(signed_in, admin_user):
    holder = UserFactory(role=Role.OPERATOR)
    today = timezone.localdate()
    response = signed_in(admin_user).post(
        "/comptes/habilitations/nouvelle/",
        habilitation_post(
            user=holder.pk,
            valid_from=today.isoformat(),
            valid_until=(today - timedelta(days=1)).isoformat(),
        ),
    )
    _nothing_saved_for_user(response, "valid_until", "La fin de validité précède son début.")
    assert not Habilitation.objects.exists()
    assert not events("habilitation.created")


def test_habilitation_without_a_right_is_refused(signed_in, admin_user):
    holder = UserFactory(role=Role.OPERATOR)
    response = signed_in(admin_user).post(
        "/comptes/habilitations/nouvelle/", habilitation_post(user=holder.pk, can_live=None)
    )
    _nothing_saved_for_user(
        response, "__all__", "Accordez au moins un droit : direct, relecture ou extraction."
    )
    assert not Habilitation.objects.exists()


def test_habilitation_without_a_scope_is_refused(signed_in, admin_user):
    holder = UserFactory(role=Role.OPERATOR)
    response = signed_in(admin_user).post(
        "/comptes/habilitations/nouvelle/",
        habilitation_post(user=holder.pk, sectors="", camera_codes=" , "),
    )
    _nothing_saved_for_user(response, "__all__", "Précisez le périmètre")
    assert not Habilitation.objects.exists()


def test_habilitation_beyond_the_role_is_refused(signed_in, admin_user):
    holder = UserFactory(role=Role.OPERATOR)
    response = signed_in(admin_user).post(
        "/comptes/habilitations/nouvelle/", habilitation_post(user=holder.pk, can_replay="on")
    )
    _nothing_saved_for_user(response, "__all__", "ne permet pas ce droit")
    assert not Habilitation.objects.exists()


def test_habilitation_with_bad_dates_on_edit_saves_nothing(signed_in, admin_user):
    habilitation = HabilitationFactory(user=UserFactory(role=Role.OPERATOR))
    before = habilitation.valid_until
    response = signed_in(admin_user).post(
        f"/comptes/habilitations/{habilitation.pk}/modifier/",
        habilitation_post(valid_from="2026-06-01", valid_until="2026-05-01"),
    )
    _nothing_saved_for_user(response, "valid_until", "La fin de validité précède son début.")
    habilitation.refresh_from_db()
    assert habilitation.valid_until == before
    assert not events("habilitation.updated")


@pytest.mark.parametrize("reason", ["", "   "])
def test_revocation_without_reason_is_refused(signed_in, admin_user, reason):
    habilitation = HabilitationFactory()
    response = signed_in(admin_user).post(
        f"/comptes/habilitations/{habilitation.pk}/retirer/", {"reason": reason}
    )
    _nothing_saved_for_user(response, "reason", "Indiquez le motif.")
    habilitation.refresh_from_db()
    assert habilitation.revoked_at is None
    assert not events("habilitation.revoked")


def test_second_factor_reset_without_reason_is_refused(signed_in, admin_user):
    account = UserFactory()
    TOTPDevice.objects.create(user=account, name="TOTP", confirmed=True)
    response = signed_in(admin_user).post(
        f"/comptes/utilisateurs/{account.pk}/second-facteur/", {"reason": " "}
    )
    _nothing_saved_for_user(response, "reason", "Indiquez le motif.")
    assert TOTPDevice.objects.filter(user=account).exists()
    assert not events("auth.second_factor_reset")


# --- Temporary password ---------------------------------------------------------------------


def test_temporary_password_page_is_for_admins_only():
    account = UserFactory(role=Role.OPERATOR)
    check_matrix(url=f"/comptes/utilisateurs/{account.pk}/mot-de-passe/", allowed=MANAGERS)

    def url():
        return f"/comptes/utilisateurs/{UserFactory().pk}/mot-de-passe/"

    check_matrix(
        url=url,
        method="post",
        data={"password1": STRONG, "password2": STRONG},
        allowed=MANAGERS,
        ok=[302],
    )


def test_a_temporary_password_must_be_replaced_at_next_sign_in(signed_in, admin_user):
    account = UserFactory(role=Role.OPERATOR)
    response = signed_in(admin_user).post(
        f"/comptes/utilisateurs/{account.pk}/mot-de-passe/",
        {"password1": STRONG, "password2": STRONG},
    )
    assert response.status_code == 302
    account.refresh_from_db()
    assert account.must_change_password and account.check_password(STRONG)
    [event] = events("account.updated")
    assert event.details == {"changes": {"password": "changed"}}
    assert STRONG not in str(event.details)
    assert signed_in(account).get("/accueil/")["Location"] == "/comptes/mot-de-passe/"
    detail = signed_in(admin_user).get(f"/comptes/utilisateurs/{account.pk}/")
    assert "à changer à la prochaine connexion" in detail.content.decode()


def test_a_weak_or_mismatched_temporary_password_saves_nothing(signed_in, admin_user):
    account = UserFactory(role=Role.OPERATOR)
    client = signed_in(admin_user)
    weak = client.post(
        f"/comptes/utilisateurs/{account.pk}/mot-de-passe/",
        {"password1": "Court1!", "password2": "Court1!"},
    )
    assert weak.status_code == 200 and "trop court" in weak.content.decode()
    mismatch = client.post(
        f"/comptes/utilisateurs/{account.pk}/mot-de-passe/",
        {"password1": STRONG, "password2": STRONG + "x"},
    )
    _nothing_saved_for_user(mismatch, "password2", "Les deux mots de passe ne correspondent pas.")
    account.refresh_from_db()
    assert not account.must_change_password
    assert not events("account.updated")


def test_an_admin_cannot_give_themselves_a_temporary_password(signed_in, admin_user):
    response = signed_in(admin_user).post(
        f"/comptes/utilisateurs/{admin_user.pk}/mot-de-passe/",
        {"password1": STRONG, "password2": STRONG},
    )
    assert response.status_code == 200
    assert "avec l&#x27;ancien" in response.content.decode()
    admin_user.refresh_from_db()
    assert not admin_user.must_change_password
