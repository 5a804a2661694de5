"""Defaults shared by the commands. The data path suits a clone beside ``../shared``."""

from __future__ import annotations

import os

DEFAULT_DATA = os.environ.get("MASKPRIVACY_DATA", "../shared/data/UTKFace.tar.gz")
