"""Dependency aliases: routers ask for `ServiceDep` and get the one service the lifespan loaded."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from qa_service.config import Settings
from qa_service.service import QAService


def get_service(request: Request) -> QAService:
    return request.app.state.service


def get_settings(request: Request) -> Settings:
    return request.app.state.service.settings


ServiceDep = Annotated[QAService, Depends(get_service)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
