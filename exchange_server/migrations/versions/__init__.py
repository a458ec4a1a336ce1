"""Migration revisions, named ``<date>_<serial>_<slug>.py``; revision ids are ``<date>_<serial>``."""
