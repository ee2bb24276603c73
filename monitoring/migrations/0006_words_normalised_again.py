"""Word-list entries and allowed phrases take the normalisation as it is now (accented Latin,
Greek and Cyrillic letters lose their accents since the review of issue 15), so that adding or
importing a word finds an entry saved before under its old form. Screening never read the
stored form (it normalises the words itself): only duplicate detection depended on it. An
entry whose new form another entry of its list already has keeps its old one."""

from django.db import migrations


def _renormalise(queryset, text_of, limit):
    from monitoring.words.normalise import normalise_word

    rows = list(queryset.order_by("id"))
    taken = {(r.word_list_id, r.normalised) for r in rows}
    for row in rows:
        fresh = normalise_word(text_of(row))[:limit]
        if not fresh or fresh == row.normalised or (row.word_list_id, fresh) in taken:
            continue
        taken.discard((row.word_list_id, row.normalised))
        taken.add((row.word_list_id, fresh))
        queryset.model.objects.filter(id=row.id).update(normalised=fresh)


def normalise_again(apps, schema_editor):
    WordEntry = apps.get_model("monitoring", "WordEntry")
    AllowEntry = apps.get_model("monitoring", "AllowEntry")
    _renormalise(WordEntry.objects.all(), lambda r: r.word, 100)
    _renormalise(AllowEntry.objects.filter(kind="phrase"), lambda r: r.value, 200)


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0005_audit_chain")]

    operations = [migrations.RunPython(normalise_again, migrations.RunPython.noop)]
