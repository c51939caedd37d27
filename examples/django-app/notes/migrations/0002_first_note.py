from django.apps.registry import Apps
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor


def first_note(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    apps.get_model("notes", "Note").objects.create(text="written by a migration")


class Migration(migrations.Migration):
    dependencies = [("notes", "0001_initial")]
    operations = [migrations.RunPython(first_note, migrations.RunPython.noop)]
