"""The bundled city packs: one YAML file per city (read by :mod:`fairpatrol.data.cities`)."""
