"""What the read-only platforms (smart-me, Climkit) hold, and how our objects tie to it.

- models.py   CatalogueEntry (one row per remote object), CatalogueRefresh (a log)
- refresh.py  pull a platform's catalogue and store it in one transaction
- links.py    tie a Device to a smart-me device / Climkit meter, a building to a site
- queries.py  searching and filtering, for the admin and later pages
- tasks.py    the beat task; admin.py the admin; the command is refresh_catalogue
"""
