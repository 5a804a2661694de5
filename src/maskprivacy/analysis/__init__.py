"""Analyse any photo: find faces (also behind real masks), align them to UTKFace's geometry, and read
them with a run's attacker models, bare and with a digital mask; as a Python API, a CLI and a web page."""
