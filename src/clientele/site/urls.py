"""URL routes: the back office (/backoffice/), its configuration pages (admin), the till API
(documented at /api/docs), and the member portal (/portal/) with its app API (/api/portal/docs)."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from clientele.backoffice.api import api as backoffice_api
from clientele.campaigns.api import api as campaigns_api
from clientele.care import api as care_api  # noqa: F401  (registers the member events' calls on the till API)
from clientele.loyalty import api_bonuses  # noqa: F401  (registers the bonus calls on the till API)
from clientele.loyalty import api_vouchers  # noqa: F401  (registers the voucher collection on the till API)
from clientele.loyalty.api import api
from clientele.offers.api import api as offers_api
from clientele.portal.api import api as portal_api
from clientele.service import api_surveys  # noqa: F401  (registers the surveys and win-back calls)
from clientele.service.api import api as service_api

urlpatterns = [
    path("", RedirectView.as_view(url="/backoffice/")),
    path("backoffice/campaigns/", include("clientele.campaigns.urls")),
    path("backoffice/offers/", include("clientele.offers.urls")),
    path("backoffice/identity/", include("clientele.identity.urls")),
    path("backoffice/privacy/", include("clientele.privacy.urls")),
    path("backoffice/care/", include("clientele.care.urls")),
    path("backoffice/", include("clientele.backoffice.urls")),
    path("admin/", admin.site.urls),
    path("api/backoffice/", backoffice_api.urls),
    path("api/offers/", offers_api.urls),
    path("api/campaigns/", campaigns_api.urls),
    path("api/service/", service_api.urls),
    path("api/portal/", portal_api.urls),
    path("portal/", include("clientele.portal.urls")),
    path("survey/", include("clientele.service.urls")),
    path("service/", include("clientele.service.desk_urls")),
    path("api/", api.urls),
]

handler403 = "clientele.backoffice.views.forbidden"
