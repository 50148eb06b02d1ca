"""A realistic, deterministic platform month of usage events.

Each organisation is generated from its own seeded random stream, so any slice of the
organisations can be generated alone (shards, benchmarks) and gives the same events.
What a month holds: applications scaling horizontally through the day, deployments with
a dedicated build instance of a few minutes and a rolling restart, add-ons with plan
changes and deletions, custom tasks, outbound traffic, runs that started the month
before, and a few duplicate deliveries and late events.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from bysecond.core.catalog import ADDON_PLANS_2021
from bysecond.core.period import BillingPeriod, rfc3339

SOURCE = "//platform/orchestrator"
SUPPORT = "//platform/support"
METERING = "//platform/metering"
FLAVOR_WEIGHTS = {
    "pico": 6,
    "nano": 10,
    "XS": 22,
    "S": 24,
    "M": 18,
    "L": 10,
    "XL": 6,
    "2XL": 3,
    "3XL": 1,
}
BUILD_FLAVORS = ["M", "L", "XL"]
TASKS = [
    ("Database migration assistance", "150.00"),
    ("Custom domain and certificate setup", "45.00"),
    ("Restore of a backup on request", "80.00"),
    ("Dedicated support session", "120.00"),
]
COMPANY = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Hooli",
    "Vandelay",
    "Stark",
    "Wayne",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Wonka",
    "Gringotts",
    "Monarch",
    "Pied Piper",
    "Aperture",
]
SUFFIX = ["SAS", "GmbH", "Ltd", "SARL", "BV", "Inc", "Oy", "SpA"]
COUNTRIES = [("FR", "fr", "Europe/Paris")] * 6 + [
    ("DE", "en", "Europe/Berlin"),
    ("BE", "fr", "Europe/Brussels"),
    ("GB", "en", "Europe/London"),
    ("US", "en", "America/New_York"),
]
STREETS = ["Market Street", "Harbour Road", "Station Avenue", "Mill Lane", "Park Row"]
CITIES = {
    "FR": "75002 Paris, France",
    "DE": "10115 Berlin, Germany",
    "BE": "1000 Brussels, Belgium",
    "GB": "London EC1A 1BB, United Kingdom",
    "US": "New York, NY 10001, United States",
}
# Valid VAT numbers (check digits) for the customers that are reverse-charged.
VAT_NUMBERS = {"DE": "DE136695976", "BE": "BE0411905847"}


@dataclass(frozen=True)
class GrantPlan:
    kind: str
    amount: Decimal
    granted_at: datetime
    expires_at: datetime | None


@dataclass
class OrganizationPlan:
    """One generated customer: its profile, its credits and its events."""

    id: str
    name: str
    country: str
    locale: str
    time_zone: str
    vat_number: str
    address: str = ""
    grants: list[GrantPlan] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)
    late_events: list[dict[str, Any]] = field(default_factory=list)


def generate_month(
    orgs: int, month: str, seed: int, events_per_org: int | None = None, first: int = 0
) -> Iterator[OrganizationPlan]:
    """Organisations `first .. first + orgs - 1` of the generated platform, in order."""
    period = BillingPeriod.parse(month)
    for index in range(first, first + orgs):
        yield _Organization(index, period, seed, events_per_org).generate()


def organization_id(index: int) -> str:
    return f"org-{index:06d}"


class _Organization:
    def __init__(self, index: int, period: BillingPeriod, seed: int, target: int | None) -> None:
        self.rng = random.Random(f"{seed}:{index}")
        self.index = index
        self.period = period
        self.start, self.end = period.start, period.end
        self.days = (self.end - self.start).days
        self.events: list[dict[str, Any]] = []
        self.counter = 0
        self.id = organization_id(index)
        # Busier customers scale more often; `target` sets the average size.
        self.scale_events_per_day = max(0, ((target or 90) - 20) // 2 // self.days)

    def event(
        self, kind: str, time: datetime, data: dict[str, Any], source: str = SOURCE
    ) -> dict[str, Any]:
        self.counter += 1
        event = {
            "specversion": "1.0",
            "id": f"{self.id}-{self.counter:06d}",
            "source": source,
            "type": kind,
            "time": rfc3339(time),
            "subject": self.id,
            "datacontenttype": "application/json",
            "data": data,
        }
        self.events.append(event)
        return event

    def moment(self, day: int, hour_low: float = 0, hour_high: float = 24) -> datetime:
        hours = self.rng.uniform(hour_low, hour_high)
        instant = self.start + timedelta(days=day, hours=hours)
        return instant.replace(
            microsecond=self.rng.choice((0, 0, 0, self.rng.randrange(1000) * 1000))
        )

    def generate(self) -> OrganizationPlan:
        rng = self.rng
        country, locale, tz = rng.choice(COUNTRIES)
        name = f"{rng.choice(COMPANY)} {rng.choice(SUFFIX)}"
        plan = OrganizationPlan(self.id, name, country, locale, tz, VAT_NUMBERS.get(country, ""))
        plan.address = f"{rng.randrange(1, 200)} {rng.choice(STREETS)}, {CITIES[country]}"
        for app in range(rng.choices((1, 2, 3, 4, 6), (30, 30, 20, 12, 8))[0]):
            self.application(f"app-{self.index:06d}-{app}")
        for addon in range(rng.choices((0, 1, 2, 3), (25, 40, 25, 10))[0]):
            self.addon(f"addon-{self.index:06d}-{addon}")
        if rng.random() < 0.08:
            description, amount = rng.choice(TASKS)
            self.event(
                "task.performed",
                self.moment(rng.randrange(self.days), 9, 18),
                {
                    "task_id": f"task-{self.index:06d}-1",
                    "description": description,
                    "amount": amount,
                },
                SUPPORT,
            )
        if rng.random() < 0.3:
            for day in range(self.days):
                gigabytes = Decimal(rng.randrange(1, 5000)) / 100
                self.event(
                    "usage.reported",
                    self.start + timedelta(days=day, hours=23, minutes=59),
                    {
                        "resource_id": f"app-{self.index:06d}-0",
                        "meter": "outbound-traffic",
                        "quantity": str(gigabytes),
                    },
                    METERING,
                )
        plan.grants = self.grants()
        plan.late_events = self.late()
        plan.events = self.deliveries()
        return plan

    def application(self, app_id: str) -> None:
        rng = self.rng
        flavor = rng.choices(list(FLAVOR_WEIGHTS), list(FLAVOR_WEIGHTS.values()))[0]
        base = rng.choices((1, 2, 3), (60, 30, 10))[0]
        name = f"{rng.choice(['shop', 'api', 'worker', 'site', 'admin', 'jobs'])}-{app_id[-1]}"
        serial = 0

        def start(at: datetime, role: str = "run", size: str = flavor) -> str:
            nonlocal serial
            serial += 1
            instance = f"{app_id}-i{serial}"
            self.event(
                "instance.started",
                at,
                {
                    "instance_id": instance,
                    "application_id": app_id,
                    "flavor": size,
                    "role": role,
                    "application_name": name,
                    "zone": "par",
                },
            )
            return instance

        # Base instances running since before the month (R4: clipped to its start).
        running = [
            start(self.start - timedelta(days=rng.randrange(1, 20), hours=rng.random()))
            for _ in range(base)
        ]
        # Horizontal scaling through the day: extra instances at the daily peak.
        for day in range(self.days):
            for _ in range(rng.randrange(self.scale_events_per_day + 1)):
                up = self.moment(day, 8, 14)
                extra = start(up)
                self.event(
                    "instance.stopped",
                    up + timedelta(seconds=rng.randrange(600, 8 * 3600)),
                    {"instance_id": extra},
                )
        # Deployments: a dedicated build instance, then a rolling restart.
        deployments = rng.choices((0, 1, 3, 6, 12), (15, 25, 30, 20, 10))[0]
        builds_at = sorted(
            self.moment(rng.randrange(self.days - 1), 9, 19) for _ in range(deployments)
        )
        last = self.start
        for build_at in builds_at:
            if build_at < last:  # two deployments of one application never overlap
                continue
            build = start(build_at, "build", rng.choice(BUILD_FLAVORS))
            built = build_at + timedelta(seconds=rng.randrange(90, 20 * 60))
            self.event("instance.stopped", built, {"instance_id": build})
            replaced = []
            for old in running:
                new = start(built + timedelta(seconds=rng.randrange(1, 30)))
                self.event(
                    "instance.stopped",
                    built + timedelta(seconds=rng.randrange(30, 120)),
                    {"instance_id": old},
                )
                replaced.append(new)
            running = replaced
            last = built + timedelta(seconds=120)
        if rng.random() < 0.05:  # an application deleted during the month
            gone = max(last, self.start) + timedelta(hours=rng.uniform(1, 72))
            for old in running:
                self.event("instance.stopped", gone, {"instance_id": old})

    def addon(self, addon_id: str) -> None:
        rng = self.rng
        provider = rng.choice(sorted(ADDON_PLANS_2021))
        plans = sorted(ADDON_PLANS_2021[provider])
        before = rng.random() < 0.6
        at = (
            self.start - timedelta(days=rng.randrange(1, 60))
            if before
            else self.moment(rng.randrange(self.days))
        )
        self.event(
            "addon.provisioned",
            at,
            {
                "addon_id": addon_id,
                "provider": provider,
                "plan": rng.choice(plans),
                "name": f"{provider}-{addon_id[-1]}",
            },
        )
        if rng.random() < 0.3:
            at = max(at, self.start) + timedelta(days=rng.uniform(0.5, 10))
            if at < self.end:
                self.event(
                    "addon.plan_changed", at, {"addon_id": addon_id, "plan": rng.choice(plans)}
                )
        if rng.random() < 0.1:
            at = max(at, self.start) + timedelta(days=rng.uniform(0.5, 10))
            if at < self.end:
                self.event("addon.deleted", at, {"addon_id": addon_id})

    def grants(self) -> list[GrantPlan]:
        """Credits beyond the welcome credit the platform gives every new organisation:
        event vouchers (free, many expiring during the month) and prepaid credit."""
        rng = self.rng
        grants = []
        if rng.random() < 0.15:
            given = self.start - timedelta(days=rng.randrange(1, 60))
            expires = self.start + timedelta(days=rng.randrange(3, self.days - 3))
            grants.append(GrantPlan("promotional", Decimal("50.00"), given, expires))
        if rng.random() < 0.2:
            bought = self.start - timedelta(days=rng.randrange(1, 120))
            grants.append(
                GrantPlan("prepaid", Decimal(rng.choice((50, 100, 250, 500))), bought, None)
            )
        return grants

    def late(self) -> list[dict[str, Any]]:
        """An event of this month that reaches the platform after the month is invoiced."""
        if self.rng.random() >= 0.03:
            return []
        description, amount = self.rng.choice(TASKS)
        late = self.event(
            "task.performed",
            self.moment(self.rng.randrange(self.days), 9, 18),
            {
                "task_id": f"task-{self.index:06d}-late",
                "description": description,
                "amount": amount,
            },
            SUPPORT,
        )
        self.events.remove(late)
        return [late]

    def deliveries(self) -> list[dict[str, Any]]:
        """Events in delivery order: mostly by time, some delivered twice (at-least-once)."""
        events = sorted(self.events, key=lambda e: e["time"])
        for event in self.rng.sample(events, k=min(len(events), self.rng.randrange(0, 3))):
            events.append(dict(event))
        return events


def as_utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)
