"""`/v1/blocks`: people you are never paired with, and who are never paired with you.

A block works both ways and is enforced by the database on every session it writes. It does not
cancel sessions already scheduled with that person; the answer lists them and says so.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Response, status

from api.deps import ClockDep, CurrentUser, DbDep
from api.strict_route import StrictRoute
from api.user_schemas import BlockCreate, BlockPublic
from db import blocks
from db.models import UserBlockRow
from domain.errors import RuleViolation

router = APIRouter(prefix="/v1/blocks", tags=["blocks"], route_class=StrictRoute)

NOTE = (
    "You and {user} will not be paired again, either way, until you lift the block. Sessions "
    "already scheduled with them are not cancelled: cancel them yourself if you wish."
)
ALREADY: dict[int | str, dict[str, Any]] = {
    200: {"model": BlockPublic, "description": "You already block them: the same block"}
}
BlockedUser = Annotated[str, Path(min_length=1, max_length=200, description="Whom you block")]


def block_out(block: UserBlockRow, kept: list[Any]) -> BlockPublic:
    """A block as the API shows it."""
    return BlockPublic(
        user_id=block.blocked_user_id,
        blocked_at=block.created_at,
        scheduled_sessions_kept=kept,
        note=NOTE.format(user=block.blocked_user_id),
    )


@router.post(
    "",
    response_model=BlockPublic,
    status_code=status.HTTP_201_CREATED,
    responses=ALREADY,
    summary="Block someone",
)
async def create_block(
    body: BlockCreate, user: CurrentUser, db: DbDep, clock: ClockDep, response: Response
) -> BlockPublic:
    """Never be paired with them again; blocking someone you already block changes nothing."""
    if body.user_id == user:
        raise RuleViolation("user_id", "you cannot block yourself")
    block, made = await blocks.add_block(db, user, body.user_id, await clock())
    # Read after the block is in: the database made any session of the pair that was being
    # written finish first, so this list is complete, and none can follow it.
    kept = await blocks.scheduled_with(db, user, [body.user_id])
    await db.commit()
    if not made:
        response.status_code = status.HTTP_200_OK
    return block_out(block, kept.get(body.user_id, []))


@router.get("", response_model=list[BlockPublic], summary="Your blocks")
async def list_blocks(
    user: CurrentUser,
    db: DbDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> list[BlockPublic]:
    """The people you block now, newest first."""
    rows = await blocks.blocks_of(db, user, limit, offset)
    kept = await blocks.scheduled_with(db, user, [row.blocked_user_id for row in rows])
    return [block_out(row, kept.get(row.blocked_user_id, [])) for row in rows]


@router.delete(
    "/{user_id:path}",  # a user id may hold a slash
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Lift a block",
)
async def delete_block(user_id: BlockedUser, user: CurrentUser, db: DbDep, clock: ClockDep) -> None:
    """You may be paired with them again; the block stays on record as lifted."""
    lifted = await blocks.remove_block(db, user, user_id, await clock())
    if not lifted:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "you do not block this user")
    await db.commit()
