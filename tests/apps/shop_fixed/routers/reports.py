from fastapi import APIRouter

from ..db import DbSession
from ..services.reports import revenue_report

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get("/revenue")
def revenue(db: DbSession):
    return revenue_report(db)
