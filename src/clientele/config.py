"""Settings, read once from the environment.

Every option is a `CLIENTELE_*` variable (and `DATABASE_URL` for the operational database).
Nothing else in the package reads the environment: it asks `settings()`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Clientele's configuration, validated when first read."""

    model_config = SettingsConfigDict(env_prefix="CLIENTELE_", extra="ignore")

    home: Path = Field(Path("var"), description="Folder for the embedded database, the lake and logs.")
    lake: Path | None = Field(None, description="Transaction lake folder; default <home>/lake.")
    engine: Literal["duckdb", "spark"] = Field("duckdb", description="Analytics engine.")
    database_url: str | None = Field(
        None,
        validation_alias="DATABASE_URL",
        description="Operational database; default a SQLite file <home>/clientele.sqlite3.",
    )
    secret_key: str = Field("dev-only-insecure-key", description="Django secret key.")
    debug: bool = Field(False, description="Django debug pages (development only).")
    environment: Literal["development", "production"] = "development"
    hot_calls: bool = Field(True, description="The till's identify and basket calls answered in front of Django "
                                              "(decision 0008); false: every call through Django.")
    spark_master: str = Field("local[2]", description="Spark master URL when engine=spark.")
    spark_memory: str = Field("2g", description="Spark driver memory when engine=spark.")
    duckdb_memory_limit: str | None = Field(None, description="DuckDB memory_limit, e.g. '4GB'.")
    smtp_host: str = Field("127.0.0.1", description="SMTP server campaigns send e-mail through.")
    smtp_port: int = Field(25, description="Port of the SMTP server.")
    smtp_sender: str = Field("marketing@clientele.invalid", description="From address of campaign e-mail.")
    sms_webhook_url: str | None = Field(None, description="HTTP endpoint campaigns POST each SMS to (JSON).")
    portal_code_minutes: int = Field(10, ge=1, le=60, description="Minutes a portal sign-in code stays valid.")
    portal_session_minutes: int = Field(120, ge=5, le=24 * 60, description="Minutes a portal sign-in lasts.")
    portal_wrong_codes: int = Field(
        5, ge=1, le=50, description="Wrong sign-in codes, per member and per network address, that lock the "
                                    "portal's sign-in for portal_lock_minutes.")
    portal_codes_sent: int = Field(3, ge=1, le=50, description="Sign-in codes sent to one member per portal_lock_minutes.")
    portal_lock_minutes: int = Field(15, ge=1, le=24 * 60, description="The window of the portal's sign-in limits.")
    portal_records_days: int = Field(
        30, ge=1, le=3650, description="Days the portal keeps its sign-in codes, wrong codes and ended sessions (the "
                                       "audit of sign-in attempts) before the nightly purge deletes them.")
    campaign_holdout: float = Field(0.10, ge=0, le=0.5, description="Default random holdout share of a campaign.")
    store_timezone: str = Field(
        "America/Chicago",
        description="Stores' time zone: the lake keeps store-local wall-clock time; the till API's UTC times are converted to it.",
    )

    list_weekly_spend: float = Field(
        25.0, ge=0, description="Personal shopping lists go to members whose average weekly spend over 8 weeks exceeds this.")
    list_cycle_days: int = Field(14, ge=1, description="Days a shopping list runs; lists are generated on this cycle.")
    list_length: int = Field(20, ge=1, le=200, description="Most products forecast onto one shopping list.")
    consent_text_version: str = Field(
        "2026-12", max_length=40, description="Version of the consent text the tills and forms show (recorded with each consent).")
    retention_contact_years: int = Field(
        3, ge=1, description="Contact data of members inactive (no basket, no change) for this many years are deleted.")
    retention_basket_years: int = Field(
        7, ge=1, description="Till baskets older than this many years lose their card (the member number stays, for the accounts).")
    retention_list_days: int = Field(
        90, ge=1, description="Shopping lists that ended this many days ago lose their items (the list stays, for its redemptions).")
    redis_url: str | None = Field(
        None, description="Redis for the till API's rate limit per key, e.g. redis://127.0.0.1:6379/0; none: no limit.")
    till_rate_limit: int = Field(600, ge=1, description="Most till API calls per key per minute (with redis_url).")
    report_min_households: int = Field(
        10, ge=2, description="k: no manufacturer report cell is computed from fewer households (suppressed).")
    identity_auto_link: float = Field(
        0.99, gt=0, le=1, description="Match probability from which two records are linked automatically.")
    identity_review_from: float = Field(
        0.80, gt=0, le=1, description="Match probability from which a pair goes to the review queue (below: apart).")
    identity_stale_days: int = Field(
        730, ge=1, description="A member record is stale after this many days without a purchase, a contact or a change.")

    till_context: bool = Field(True, description="Identify also tells the cashier the member's top categories and "
                                                 "last purchase with what goes with it (the nightly till context).")
    margin_rate: float = Field(
        0.25, ge=0, le=1, description="The lake has no cost price: a customer's margin is estimated as net sales x "
                                      "this share (the chain's average gross margin on sales).")
    follow_up_tiers: str = Field(
        "platinum,gold", description="Value tiers (comma-separated) whose large purchases get an after-sales call.")
    follow_up_basket: float = Field(
        100.0, gt=0, description="A basket of at least this total (currency units) puts a member of a follow-up tier "
                                 "on the after-sales call list.")
    follow_up_days: int = Field(14, ge=1, description="How many days back the call list looks for large baskets.")

    @property
    def lake_path(self) -> Path:
        return (self.lake or self.home / "lake").resolve()

    @property
    def spill_path(self) -> Path:
        """Where DuckDB writes what does not fit its memory budget (created on first use)."""
        spill = self.home.resolve() / "tmp"
        spill.mkdir(parents=True, exist_ok=True)
        return spill

    @property
    def database_path(self) -> Path:
        return (self.home / "clientele.sqlite3").resolve()

    def check(self) -> None:
        """Refuse the development secret outside development."""
        if self.environment == "production" and self.secret_key == "dev-only-insecure-key":
            raise ValueError("CLIENTELE_SECRET_KEY must be set in production")


@lru_cache(maxsize=1)
def settings() -> Settings:
    """The process-wide settings (read from the environment on first use)."""
    current = Settings()
    current.check()
    return current
