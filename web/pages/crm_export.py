"""Export CSV links of the staff app: the accounts list as a file, with the list's search, status and sort."""

from __future__ import annotations

from litestar import Controller, get
from litestar.di import NamedDependency, Provide
from litestar.params import FromQuery, Parameter
from litestar.response import Stream

from backend.domains.crm import export
from backend.kit.clock import utcnow
from tenants.scope import tenant_scope
from web.context import Page, tenant_page
from web.pages.crm_accounts import CRM_PAGE, crm_actor


class ExportPages(Controller):
    path = "/t/{tenant_slug:str}"
    dependencies = {"pg": Provide(tenant_page)}
    include_in_schema = False

    @get("/accounts.csv", opt=CRM_PAGE)
    async def accounts_csv(
        self, pg: NamedDependency[Page],
        q: FromQuery[str] = Parameter(default="", max_length=200),
        status: FromQuery[str] = "",
        sort: FromQuery[str] = "name",
    ) -> Stream:
        tenant, actor = pg.tenant, crm_actor(pg)
        assert tenant is not None
        prepared = await export.prepare(pg.uow, actor, "accounts",
                                        {"q": q or None, "status": status or None, "sort": sort})
        name = f"accounts-{utcnow():%Y%m%d-%H%M}.csv"
        return Stream(export.chunks(prepared, actor, lambda: tenant_scope(tenant)), media_type="text/csv",
                      headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"})
