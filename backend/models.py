"""Import every model so both metadata trees are complete (migrations, DDL snapshot)."""

from __future__ import annotations

from backend.db.base import SharedBase, TenantBase
from backend.domains.audit import models as _audit  # noqa: F401
from backend.domains.company import models as _company  # noqa: F401
from backend.domains.crm import activity_models as _crm_activities  # noqa: F401
from backend.domains.crm import activity_recency as _crm_activity_recency  # noqa: F401
from backend.domains.crm import custom_fields_models as _crm_custom_fields  # noqa: F401
from backend.domains.crm import deals_models as _crm_deals  # noqa: F401
from backend.domains.crm import imports_models as _crm_imports  # noqa: F401
from backend.domains.crm import marketing_models as _crm_marketing  # noqa: F401
from backend.domains.crm import models as _crm  # noqa: F401
from backend.domains.crm import search_words as _crm_search_words  # noqa: F401
from backend.domains.crm import segments_models as _crm_segments  # noqa: F401
from backend.domains.crm.analytics import funnel_models as _crm_funnel  # noqa: F401
from backend.domains.crm.analytics import indexes as _crm_report_indexes  # noqa: F401
from backend.domains.identity import models as _identity  # noqa: F401
from tenants import models as _tenants  # noqa: F401

shared_metadata = SharedBase.metadata
tenant_metadata = TenantBase.metadata
