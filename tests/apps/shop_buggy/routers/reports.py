from fastapi import APIRouter

from ..services.reports import revenue_report

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get("/revenue")
def revenue():
    return revenue_report()
