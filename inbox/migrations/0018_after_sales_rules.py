# Issue 17. Written by hand: holds only this part's operations (other parts of the issue are
# built beside it in their own migration files).

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("inbox", "0017_customer_data")]

    operations: list = []
