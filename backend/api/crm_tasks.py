"""/api/v1/t/{slug}/tasks: thin adapters over the tasks service ("my tasks" today/overdue in the caller's zone)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

import msgspec
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED

from backend.api.context import TenantContext, tenant_ctx
from backend.api.crm_common import CRM_ROUTE, crm_actor, etagged, expected_version, provided
from backend.api.idempotency import idempotent
from backend.domains.crm import tasks
from backend.domains.crm.activity_models import Task
from backend.domains.crm.activity_time import caller_zone

UNSET = msgspec.UNSET


class TaskIn(msgspec.Struct, forbid_unknown_fields=True):
    """``due_at`` (a time with an offset) or ``due_date`` (a day), not both; ``link_type`` (account, contact, deal)
    with ``link_id`` links one record (both null: no link). ``assignee_user_id`` defaults to you."""

    title: str | msgspec.UnsetType | None = UNSET
    notes: str | msgspec.UnsetType | None = UNSET
    due_at: datetime | msgspec.UnsetType | None = UNSET
    due_date: date | msgspec.UnsetType | None = UNSET
    assignee_user_id: uuid.UUID | msgspec.UnsetType | None = UNSET
    link_type: str | msgspec.UnsetType | None = UNSET
    link_id: uuid.UUID | msgspec.UnsetType | None = UNSET


class TaskOut(msgspec.Struct):
    id: uuid.UUID
    title: str
    notes: str | None
    due_at: datetime | None
    due_date: date | None
    assignee_user_id: uuid.UUID | None
    link_type: str | None
    link_id: uuid.UUID | None
    account_id: uuid.UUID | None
    contact_id: uuid.UUID | None
    deal_id: uuid.UUID | None
    done: bool
    done_at: datetime | None
    done_by_user_id: uuid.UUID | None
    done_by_api_key_id: uuid.UUID | None
    created_by_user_id: uuid.UUID | None
    created_by_api_key_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    version: int


class TaskPage(msgspec.Struct):
    items: list[TaskOut]
    next_cursor: str | None


def task_out(t: Task) -> TaskOut:
    link_type, link_id = tasks.link_of(t)
    return TaskOut(t.id, t.title, t.notes, t.due_at, t.due_date, t.assignee_user_id, link_type, link_id,
                   t.account_id, t.contact_id, t.deal_id, t.done_at is not None, t.done_at, t.done_by_user_id,
                   t.done_by_api_key_id, t.created_by_user_id, t.created_by_api_key_id, t.created_at, t.updated_at,
                   t.archived_at, t.version)


def task_response(task: Task, status: int = 200) -> Response[TaskOut]:
    return etagged(task_out(task), task.version, status)


class TaskController(Controller):
    path = "/api/v1/t/{tenant_slug:str}/tasks"
    tags = ["crm: activities"]
    dependencies = {"ctx": Provide(tenant_ctx)}

    @get("/", opt=CRM_ROUTE, summary="Tasks you may see: mine=true&due=today|overdue|upcoming|none|all&done=false",
         description="Days are local to your profile's time zone (API keys: the company's). overdue = due before "
                     "today and not done; today = due during today; upcoming = after today. sort: due (default; "
                     "no due last), created, -created.")
    async def list_(
        self, ctx: NamedDependency[TenantContext],
        mine: FromQuery[bool] = False,
        assignee: FromQuery[uuid.UUID | None] = None,
        account_id: FromQuery[uuid.UUID | None] = None,
        contact_id: FromQuery[uuid.UUID | None] = None,
        deal_id: FromQuery[uuid.UUID | None] = None,
        due: FromQuery[str] = Parameter(default="all", max_length=16),
        done: FromQuery[bool | None] = None,
        archived: FromQuery[bool] = False,
        sort: FromQuery[str] = Parameter(default="due", max_length=16),
        cursor: FromQuery[str | None] = Parameter(default=None, max_length=500),
        limit: FromQuery[int] = Parameter(default=50, ge=1, le=200),
    ) -> TaskPage:
        zone = await caller_zone(ctx.uow, ctx.user.timezone if ctx.user else None)
        page = await tasks.list_tasks(ctx.uow, crm_actor(ctx), zone, mine=mine, assignee_user_id=assignee,
                                      account_id=account_id, contact_id=contact_id, deal_id=deal_id, due=due,
                                      done=done, include_archived=archived, sort=sort, cursor=cursor, limit=limit)
        return TaskPage([task_out(t) for t in page.items], page.next_cursor)

    @post("/", opt=CRM_ROUTE, status_code=HTTP_201_CREATED, summary="Create a task (Idempotency-Key supported)")
    async def create(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                     data: JSONBody[TaskIn]) -> Response[TaskOut]:
        async def produce() -> Response[TaskOut]:
            return task_response(await tasks.create(ctx.uow, crm_actor(ctx), provided(data)), HTTP_201_CREATED)

        return await idempotent(request, ctx, produce)

    @get("/{task_id:uuid}", opt=CRM_ROUTE, summary="One task (ETag carries its version)")
    async def one(self, ctx: NamedDependency[TenantContext], task_id: FromPath[uuid.UUID]) -> Response[TaskOut]:
        return task_response(await tasks.get(ctx.uow, crm_actor(ctx), task_id))

    @patch("/{task_id:uuid}", opt=CRM_ROUTE, summary="Change fields (If-Match: 409 if changed meanwhile)")
    async def change(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                     task_id: FromPath[uuid.UUID], data: JSONBody[TaskIn]) -> Response[TaskOut]:
        task = await tasks.update(ctx.uow, crm_actor(ctx), task_id, provided(data), expected_version(request))
        return task_response(task)

    @delete("/{task_id:uuid}", opt=CRM_ROUTE, status_code=200, summary="Archive (tasks are never erased)")
    async def archive(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                      task_id: FromPath[uuid.UUID]) -> Response[TaskOut]:
        return task_response(await tasks.archive(ctx.uow, crm_actor(ctx), task_id, expected_version(request)))

    @post("/{task_id:uuid}/done", opt=CRM_ROUTE, status_code=200,
          summary="Mark done (stamps who and when; the assignee may always do this)")
    async def done(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                   task_id: FromPath[uuid.UUID]) -> Response[TaskOut]:
        return task_response(await tasks.set_done(ctx.uow, crm_actor(ctx), task_id, True, expected_version(request)))

    @post("/{task_id:uuid}/undone", opt=CRM_ROUTE, status_code=200, summary="Mark not done again")
    async def undone(self, request: Request[Any, Any, Any], ctx: NamedDependency[TenantContext],
                     task_id: FromPath[uuid.UUID]) -> Response[TaskOut]:
        task = await tasks.set_done(ctx.uow, crm_actor(ctx), task_id, False, expected_version(request))
        return task_response(task)
