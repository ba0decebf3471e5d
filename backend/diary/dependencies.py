"""What the diary's routes (api.py, pages.py) and other areas' pages are handed by the app: the writes and the safety
checks, built once in backend/app.py. Litestar does not validate them (they are the app's own objects, not input):
checking a dataclass of collaborators on every request costs a write a tenth of its speed (make bench)."""

from __future__ import annotations

from typing import Annotated

from litestar.params import Dependency

from backend.diary.safety import Safety
from backend.diary.services import Writes

TheWrites = Annotated[Writes, Dependency(skip_validation=True)]
TheSafety = Annotated[Safety, Dependency(skip_validation=True)]
