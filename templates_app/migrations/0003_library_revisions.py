# A database migrated at 0002 before this data step existed gets it here.
from django.db import migrations


def revisions_for_existing_libraries(apps, schema_editor):
    # An organisation without a revision is re-scanned on every picker call: give every one
    # that already has quick replies or materials its first revision.
    import secrets

    QuickReply = apps.get_model("templates_app", "QuickReply")
    Material = apps.get_model("templates_app", "Material")
    LibraryRevision = apps.get_model("templates_app", "LibraryRevision")
    organisations = set(QuickReply.objects.values_list("organisation_id", flat=True))
    organisations |= set(Material.objects.values_list("organisation_id", flat=True))
    LibraryRevision.objects.bulk_create(
        [LibraryRevision(organisation_id=o, revision=secrets.randbits(62)) for o in organisations],
        ignore_conflicts=True,
    )



class Migration(migrations.Migration):
    dependencies = [("templates_app", "0002_library_in_memory")]

    operations = [migrations.RunPython(revisions_for_existing_libraries, migrations.RunPython.noop)]
