"""The goal metrics a campaign may set and how a page names them (no imports: read by the campaigns'
models at start-up and by the measurement in analytics)."""

METRICS = {
    "spend": "spend per member",
    "visits": "visits per member",
    "basket_value": "basket value",
    "repurchase_rate": "repurchase rate",
    "churn_rate": "churn rate",
    "reactivation_rate": "reactivation rate",
    "redemption_rate": "offer redemption rate",
}
