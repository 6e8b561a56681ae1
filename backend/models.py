"""Import every model so both metadata trees are complete (migrations, DDL snapshot)."""

from __future__ import annotations

from backend.db.base import SharedBase, TenantBase
from backend.domains.audit import models as _audit  # noqa: F401
from backend.domains.company import models as _company  # noqa: F401
from backend.domains.crm import deals_models as _crm_deals  # noqa: F401
from backend.domains.crm import models as _crm  # noqa: F401
from backend.domains.crm.analytics import indexes as _crm_report_indexes  # noqa: F401
from backend.domains.identity import models as _identity  # noqa: F401
from tenants import models as _tenants  # noqa: F401

shared_metadata = SharedBase.metadata
tenant_metadata = TenantBase.metadata
