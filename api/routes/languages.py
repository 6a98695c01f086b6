"""`/v1/languages`: the public list of languages."""

from __future__ import annotations

from fastapi import APIRouter

from api import reads
from api.deps import DbDep
from api.schemas import LanguagePublic
from db.models import LanguageRow

router = APIRouter(prefix="/v1/languages", tags=["languages"])


@router.get("", response_model=list[LanguagePublic], summary="Languages you can speak or learn")
async def list_languages(db: DbDep) -> list[LanguageRow]:
    """Every language, by id (public: no token needed)."""
    return list(await reads.languages(db))
