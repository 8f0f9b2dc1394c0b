"""The gettext catalogs (see listd/i18n.py); English is the source language."""
