"""An authorization lists its CSI L251-2 purposes and the qualities of its viewers as codes.

The free text that held the purposes becomes their "précisions". Each existing arrêté gets the
purposes its text names (1° and 5° besides, the usual pair of a municipal system, when the text
names none), and the qualities of the people who already view its images in a municipal CSU
(agents of the commune, the police municipale, the Police nationale and the gendarmerie), so
that no habilitation in force stops at the upgrade; the DPO then narrows both to the arrêté.
"""

from django.db import migrations, models

import cameras.models
import cameras.purposes

#: Words of an arrêté's text → the purpose they name, in the article's order.
KEYWORDS = [
    ("batiments_publics", ("bâtiment", "batiment", "installations publi", "abords")),
    ("defense_nationale", ("défense nationale", "defense nationale")),
    ("flux_transport", ("flux", "trafic", "transport")),
    ("infractions_circulation", ("circulation", "routi", "stationnement")),
    ("atteintes_personnes_biens", ("personnes et des biens", "agression", " vol", "stupéfiant")),
    ("terrorisme", ("terroris",)),
    ("risques_naturels", ("risques naturels", "technologique", "inondation")),
    ("secours_incendie", ("secours", "incendie")),
    ("parcs_attraction", ("parc d'attraction", "parcs d'attraction")),
    ("assurance_vehicules", ("assurance",)),
    ("abandon_dechets", ("ordure", "déchet", "dechet", "dépôt sauvage", "depot sauvage")),
]
DEFAULT_PURPOSES = ["batiments_publics", "atteintes_personnes_biens"]
DEFAULT_QUALITIES = ["operateur_csu", "police_municipale", "police_nationale", "gendarmerie"]


def purposes_of(text):
    text = (text or "").lower()
    found = [code for code, words in KEYWORDS if any(word in text for word in words)]
    return found or list(DEFAULT_PURPOSES)


def forwards(apps, schema_editor):
    Authorization = apps.get_model("cameras", "Authorization")
    for authorization in Authorization.objects.all():
        authorization.purposes = purposes_of(authorization.purposes_details)
        authorization.qualities = list(DEFAULT_QUALITIES)
        authorization.save(update_fields=["purposes", "qualities"])


def backwards(apps, schema_editor):
    """The codes go; the text stays, as it was before."""


class Migration(migrations.Migration):
    dependencies = [
        ("cameras", "0010_camera_commune"),
    ]

    operations = [
        migrations.RenameField(
            model_name="authorization", old_name="purposes", new_name="purposes_details"
        ),
        migrations.AlterField(
            model_name="authorization",
            name="purposes_details",
            field=models.TextField(blank=True, verbose_name="précisions sur les finalités"),
        ),
        migrations.AddField(
            model_name="authorization",
            name="purposes",
            field=models.JSONField(
                default=list,
                validators=[cameras.purposes.validate_purposes],
                verbose_name="finalités",
            ),
        ),
        migrations.AddField(
            model_name="authorization",
            name="qualities",
            field=models.JSONField(
                default=list,
                validators=[cameras.models.validate_qualities],
                verbose_name="qualités des personnes habilitées à visionner",
            ),
        ),
        migrations.RunPython(forwards, backwards),
    ]
