"""Deterministic sample-data generator: writes the CSV files a user would import.

    python -m sample_data.generate                 # the committed sample (sample_data/*.csv)
    python -m sample_data.generate --scale S --out bench/.cache/S   # benchmark scales S, M, L

Fixed seed, fixed end date, so the same command always writes the same bytes.
The story the data tells (so pages have something true to find):
- 2.4 years of meetings with seasonality (quiet late December and August, busy spring/autumn);
- the Muslim-community liaison left in July 2026 and some of that portfolio fell overdue;
  a few other communities lapsed, one new community has never been met, two have no liaison;
- Chaplains logged nothing after 20 Sep 2026 (a data-freshness gap);
- CIT in North lost staff from April 2026 (a staffing vacancy), LIA is one liaison short;
- an incident in East on 15 Aug 2026 pulls trust down there for about three months;
- small communities (Deaf, Sikh, refugee resettlement) get too few responses to show (small-n rule).
"""

from __future__ import annotations

import argparse
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

SEED = 20261120
END = date(2026, 11, 20)
START = date(2024, 7, 1)
INCIDENT = date(2026, 8, 15)
OUT_DIR = Path(__file__).resolve().parent

# meetings and feedback responses per scale (approximate)
SCALES = {
    "sample": (6_000, 30_000),
    "S": (20_000, 200_000),
    "M": (1_000_000, 10_000_000),
    "L": (5_000_000, 50_000_000),
}

DIVISIONS = [
    ("CENTRAL", "Central"),
    ("EAST", "East"),
    ("METRO", "Metro"),
    ("NORTH", "North"),
    ("SOUTH", "South"),
    ("SHOAL", "Shoal Creek"),
]
UNITS = [
    ("SW", "Social Workers", False),
    ("CIO", "Community Interaction Officers", True),
    ("CIT", "Crisis Intervention Team", True),
    ("CFMH", "Crime-Free Multi-Housing", True),
    ("CHAP", "Chaplains", False),
    ("LIA", "Liaison Officers", True),
]
LIAISONS = [
    ("LGBTQ+ Liaison", "LGBTQ+"),
    ("African American Community Liaison", "African American"),
    ("Latino Community Liaison", "Latino"),
    ("Muslim Community Liaison", "Muslim"),
    ("Asian Pacific Islander Liaison", "Asian Pacific Islander"),
    ("Campus Liaison", "campus"),
    ("Faith Liaison", "faith"),
    ("Deaf and Hard of Hearing Liaison", "Deaf"),
]
FIRST = "Alex Bailey Casey Devon Emery Frankie Gray Harper Indy Jordan Kai Logan Morgan Noel Oakley Parker Quinn Riley Sage Taylor Umi Val Winter Yael Zion".split()
LAST = "Alvarez Brooks Chen Diallo Evans Flores Garcia Haddad Ito Johnson Khan Lopez Mendoza Nguyen Okafor Patel Qureshi Rivera Singh Tran Usman Vasquez Washington Yamamoto Zamora".split()
TAGS = [
    "traffic",
    "noise",
    "homelessness",
    "mental_health",
    "youth",
    "property_crime",
    "drugs",
    "lighting",
    "hate_incident",
    "response_time",
    "landlord_tenant",
    "language_access",
]
TOPICS = [
    "response_time",
    "respect",
    "communication",
    "safety",
    "traffic",
    "youth",
    "mental_health",
    "language_access",
]
COMMENT_TEXT = {
    "response_time": ["Officers took a long time to arrive.", "Response was quick when we called."],
    "respect": ["The officer treated my family with respect.", "I felt talked down to."],
    "communication": ["Please share meeting dates earlier.", "The liaison explained things clearly."],
    "safety": ["I feel safer walking at night now.", "Break-ins on our street worry us."],
    "traffic": ["Speeding on our street is a daily problem.", "The new crosswalk helped."],
    "youth": ["More programs for teenagers, please.", "The youth league was a great idea."],
    "mental_health": ["The crisis team helped my brother.", "We need more mental health support."],
    "language_access": ["Materials in Spanish would help.", "An interpreter was there, thank you."],
}
KIND_TYPES = {  # meeting-type mix per community kind
    "identity": {"liaison_meeting": 0.55, "listening_session": 0.25, "community_event": 0.2},
    "faith": {"faith_leaders": 0.6, "liaison_meeting": 0.2, "community_event": 0.2},
    "neighborhood": {
        "neighborhood_watch": 0.6,
        "education_crime_prevention": 0.2,
        "problem_solving_follow_up": 0.2,
    },
    "business": {"business_association": 0.7, "education_crime_prevention": 0.3},
    "campus": {"liaison_meeting": 0.5, "education_crime_prevention": 0.3, "community_event": 0.2},
    "rental_property": {"education_crime_prevention": 0.5, "problem_solving_follow_up": 0.5},
    "service_partner": {"liaison_meeting": 0.6, "problem_solving_follow_up": 0.4},
}
KIND_UNITS = {
    "identity": "LIA",
    "faith": "CHAP",
    "neighborhood": "CIO",
    "business": "CIO",
    "campus": "LIA",
    "rental_property": "CFMH",
    "service_partner": "CIT",
}
TYPE_RESIDENTS = {
    "liaison_meeting": 12,
    "neighborhood_watch": 18,
    "business_association": 10,
    "faith_leaders": 8,
    "listening_session": 35,
    "education_crime_prevention": 22,
    "problem_solving_follow_up": 6,
    "community_event": 80,
}


def _days() -> np.ndarray:
    return np.arange(np.datetime64(START), np.datetime64(END) + 1)


def _seasonality(days: np.ndarray) -> np.ndarray:
    month = days.astype("datetime64[M]").astype(int) % 12 + 1
    doy = (days - days.astype("datetime64[Y]")).astype(int)
    base = 1 + 0.25 * np.sin(2 * np.pi * (doy - 60) / 182.5)
    base = np.where(month == 8, base * 0.7, base)
    base = np.where((month == 12) & (doy > 350), base * 0.3, base)
    weekday = (days.astype("datetime64[D]").astype(int) + 3) % 7  # 0 = Monday
    return base * np.array([1.1, 1.2, 1.2, 1.15, 0.9, 0.6, 0.45])[weekday]


class Builder:
    def __init__(self, scale: str, seed: int = SEED) -> None:
        self.rng = np.random.default_rng(seed)
        self.scale = scale
        self.n_meetings, self.n_feedback = SCALES[scale]
        self.copies = max(1, round(self.n_meetings / SCALES["sample"][0]))

    # ------------------------------------------------------------ reference tables
    def staff(self) -> list[dict]:
        rng, rows = self.rng, []
        div_codes = [d[0] for d in DIVISIONS]
        per_unit = {"SW": 10, "CIO": 18, "CIT": 12, "CFMH": 6, "CHAP": 5, "LIA": len(LIAISONS)}
        n = 0
        for copy in range(self.copies):
            for unit, count in per_unit.items():
                for i in range(count):
                    n += 1
                    sid = f"S{n:05d}"
                    name = f"{FIRST[(n * 7) % len(FIRST)]} {LAST[(n * 11) % len(LAST)]}"
                    title = LIAISONS[i][0] if unit == "LIA" else ""
                    start = START - timedelta(days=int(rng.integers(30, 2500)))
                    end = ""
                    if unit == "LIA" and LIAISONS[i][1] == "Muslim" and copy == 0:
                        end = "2026-07-10"
                    elif rng.random() < 0.05:
                        end = str(END - timedelta(days=int(rng.integers(200, 600))))
                    cit = unit == "CIT" or (unit in ("CIO", "LIA", "CFMH") and rng.random() < 0.35)
                    rows.append(
                        dict(
                            staff_id=sid,
                            display_name=("Ofc. " if unit in ("CIO", "CIT", "CFMH", "LIA") else "") + name,
                            title=title,
                            unit_code=unit,
                            division_code=div_codes[(n + copy) % len(div_codes)],
                            start_date=str(start),
                            end_date=end,
                            is_cit_trained="true" if cit else "false",
                        )
                    )
        return rows

    def communities(self, staff: list[dict]) -> list[dict]:
        rng = self.rng
        by_unit: dict[str, list[str]] = {}
        for s in staff:
            if not s["end_date"] or s["title"] == "Muslim Community Liaison":
                by_unit.setdefault(s["unit_code"], []).append(s["staff_id"])
        liaison_by_focus = {}
        for s in staff:
            for title, focus in LIAISONS:
                if s["title"] == title:
                    liaison_by_focus.setdefault(focus, s["staff_id"])
        base: list[tuple[str, str, str | None, int, str | None]] = []
        for focus in ["LGBTQ+", "African American", "Latino", "Muslim", "Asian Pacific Islander"]:
            base.append((f"{focus} community", "identity", None, 30, liaison_by_focus[focus]))
        base.append(("Deaf and Hard of Hearing community", "identity", None, 60, liaison_by_focus["Deaf"]))
        base.append(("Sikh community", "faith", None, 60, liaison_by_focus["faith"]))
        base.append(("Refugee resettlement network", "identity", None, 45, None))
        for code, name in DIVISIONS:
            base.append((f"{name} neighborhood watch", "neighborhood", code, 30, None))
            base.append((f"{name} merchants association", "business", code, 45, None))
            base.append((f"{name} interfaith council", "faith", code, 60, None))
            base.append((f"{name} apartment communities", "rental_property", code, 30, None))
        base.append(("State University students", "campus", "CENTRAL", 30, liaison_by_focus["campus"]))
        base.append(("Community College", "campus", "NORTH", 45, liaison_by_focus["campus"]))
        base.append(("Riverside Behavioral Health Center", "service_partner", "EAST", 14, None))
        base.append(("Eastside Family Shelter", "service_partner", "EAST", 30, None))
        base.append(("Harbor Recovery Clinic", "service_partner", "SOUTH", 30, None))
        base.append(("Muslim Students Association", "campus", "CENTRAL", 30, liaison_by_focus["Muslim"]))
        base.append(("North Mosque congregation", "faith", "NORTH", 30, liaison_by_focus["Muslim"]))
        base.append(("Shoal Creek HOA", "neighborhood", "SHOAL", 60, None))
        base.append(("Tenants of Cedar Court", "rental_property", "SOUTH", 30, None))
        rows = []
        for copy in range(self.copies):
            for i, (name, kind, div, cadence, owner) in enumerate(base):
                cid = f"C{copy:03d}-{i:02d}" if self.copies > 1 else f"C{i + 1:03d}"
                if owner is None and name not in ("Refugee resettlement network", "Shoal Creek HOA"):
                    pool = by_unit[KIND_UNITS[kind]]
                    owner = pool[(i * 3 + copy) % len(pool)]
                label = name if copy == 0 else f"{name} ({copy + 1})"
                rows.append(
                    dict(
                        community_id=cid,
                        name=label,
                        kind=kind,
                        division_code=div or "",
                        target_cadence_days=cadence,
                        responsible_staff_id=owner or "",
                        is_active="false" if name == "Shoal Creek HOA" else "true",
                    )
                )
        # a community added this month: never met yet
        rows.append(
            dict(
                community_id="C900" if self.copies == 1 else "C999-99",
                name="Somali Cultural Association",
                kind="identity",
                division_code="EAST",
                target_cadence_days=30,
                responsible_staff_id=liaison_by_focus["Muslim"],
                is_active="true",
            )
        )
        _ = rng
        return rows

    def organizations(self, communities: list[dict]) -> list[dict]:
        rows, n = [], 0
        suffix = ["Council", "Association", "Center", "Network", "Committee"]
        for c in communities:
            for j in range(1 + (hash_int(c["community_id"]) % 3)):
                n += 1
                rows.append(
                    dict(
                        org_id=f"O{n:06d}",
                        name=f"{c['name']} {suffix[(n + j) % len(suffix)]}",
                        community_id=c["community_id"],
                    )
                )
        return rows

    # ------------------------------------------------------------ meetings
    def meetings(self, staff, communities, orgs) -> dict[str, np.ndarray]:
        rng = self.rng
        days = _days()
        season = _seasonality(days)
        comms = [c for c in communities if c["name"] != "Somali Cultural Association"]
        cadence = np.array([c["target_cadence_days"] for c in comms], float)
        rate = 1.35 / cadence
        weights = rate[:, None] * season[None, :] / season.mean()
        # lapses: these communities stop being met on the given day
        lapse = {
            "Muslim community": date(2026, 7, 10),
            "North Mosque congregation": date(2026, 7, 10),
            "Sikh community": date(2026, 8, 20),
            "Metro merchants association": date(2026, 9, 1),
            "Refugee resettlement network": date(2026, 6, 1),
            "Tenants of Cedar Court": date(2026, 10, 1),
        }
        for i, c in enumerate(comms):
            base_name = c["name"].split(" (")[0]
            if base_name in lapse:
                weights[i, days >= np.datetime64(lapse[base_name])] = 0
            if base_name in ("Refugee resettlement network", "Deaf and Hard of Hearing community"):
                weights[i] *= 0.5
        weights *= self.n_meetings / weights.sum()
        counts = rng.poisson(weights)
        ci, di = np.nonzero(counts)
        reps = counts[ci, di]
        ci, di = np.repeat(ci, reps), np.repeat(di, reps)
        n = len(ci)
        kinds = np.array([c["kind"] for c in comms])[ci]
        # meeting type by kind
        mtype = np.empty(n, dtype=object)
        for kind, mix in KIND_TYPES.items():
            mask = kinds == kind
            mtype[mask] = rng.choice(list(mix), size=mask.sum(), p=list(mix.values()))
        mean_res = np.zeros(n)
        for t, mean in TYPE_RESIDENTS.items():
            mean_res[mtype == t] = mean
        residents = rng.negative_binomial(3, 3 / (3 + mean_res))
        officers = 1 + rng.binomial(3, 0.3, n)
        # division: the community's, or for citywide communities, any
        div_codes = np.array([d[0] for d in DIVISIONS])
        comm_div = np.array([c["division_code"] for c in comms], dtype=object)[ci]
        rand_div = div_codes[rng.integers(0, len(div_codes), n)]
        division = np.where(comm_div == "", rand_div, comm_div)
        # organization within the community
        org_by_comm: dict[str, list[str]] = {}
        for o in orgs:
            org_by_comm.setdefault(o["community_id"], []).append(o["org_id"])
        comm_ids = np.array([c["community_id"] for c in comms], dtype=object)
        offsets = rng.random(n)
        # the organization at position int(u * count) of the community's list, for every meeting at once
        flat: list[str] = []
        first, count = [], []
        for cid in comm_ids:
            first.append(len(flat))
            count.append(len(org_by_comm[cid]))
            flat.extend(org_by_comm[cid])
        first_a, count_a = np.array(first), np.array(count)
        org = np.array(flat, dtype=object)[first_a[ci] + (offsets * count_a[ci]).astype(np.int64)]
        org[rng.random(n) < 0.1] = ""
        # lead: usually the responsible staff member, else someone from the kind's unit
        unit_pool: dict[str, np.ndarray] = {}
        for s in staff:
            if not s["end_date"]:
                unit_pool.setdefault(s["unit_code"], []).append(s["staff_id"])
        unit_pool = {k: np.array(v, dtype=object) for k, v in unit_pool.items()}
        owner = np.array([c["responsible_staff_id"] for c in comms], dtype=object)[ci]
        lead = owner.copy()
        other = (rng.random(n) < 0.3) | (lead == "")
        for kind, unit in KIND_UNITS.items():
            mask = other & (kinds == kind)
            pool = unit_pool[unit]
            lead[mask] = pool[rng.integers(0, len(pool), mask.sum())]
        # some service-partner work is co-responded by social workers
        sw = (kinds == "service_partner") & (rng.random(n) < 0.35)
        lead[sw] = unit_pool["SW"][rng.integers(0, len(unit_pool["SW"]), sw.sum())]
        # Chaplains stop logging after 20 Sep 2026: their meetings go to the faith liaison's unit instead
        chaplains = set(unit_pool["CHAP"])
        late = days[di] > np.datetime64(date(2026, 9, 20))
        is_chap = np.array([x in chaplains for x in lead])
        drop = late & is_chap
        keep = ~drop
        second = np.where(
            rng.random(n) < 0.4, unit_pool["CIO"][rng.integers(0, len(unit_pool["CIO"]), n)], ""
        )
        second = np.where(second == lead, "", second)
        tag_idx = rng.integers(0, len(TAGS), (n, 2))
        n_tags = rng.choice([0, 1, 2], size=n, p=[0.45, 0.4, 0.15])
        tags_arr = np.array(TAGS, dtype=object)
        concern = np.where(
            n_tags == 0,
            "",
            np.where(
                n_tags == 1, tags_arr[tag_idx[:, 0]], tags_arr[tag_idx[:, 0]] + ";" + tags_arr[tag_idx[:, 1]]
            ),
        )
        concern = np.where((n_tags == 2) & (tag_idx[:, 0] == tag_idx[:, 1]), tags_arr[tag_idx[:, 0]], concern)
        hour = np.where(
            np.isin(mtype, ["neighborhood_watch", "listening_session"]), 18, 9 + rng.integers(0, 8, n)
        )
        minute = rng.choice([0, 30], size=n)
        out = dict(
            meeting_date=days[di].astype("datetime64[D]"),
            start_time=np.char.add(np.char.zfill(hour.astype(str), 2), np.where(minute == 0, ":00", ":30")),
            duration_min=rng.choice([30, 45, 60, 90, 120], size=n, p=[0.15, 0.2, 0.35, 0.2, 0.1]),
            community_id=comm_ids[ci],
            org_id=org,
            division_code=division,
            meeting_type=mtype,
            residents_count=residents,
            officers_count=officers,
            lead_staff_id=lead,
            other_staff_ids=second,
            concern_tags=concern,
        )
        out = {k: v[keep] for k, v in out.items()}
        order = np.lexsort((out["start_time"], out["meeting_date"]))
        out = {k: v[order] for k, v in out.items()}
        out["meeting_id"] = np.array([f"M{i:08d}" for i in range(1, len(order) + 1)], dtype=object)
        out["notes"] = np.where(
            np.arange(len(order)) % 17 == 0, "Shared contact cards; follow-up planned.", ""
        )
        return out

    def follow_ups(self, m: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rng = self.rng
        has = np.nonzero((m["concern_tags"] != "") & (rng.random(len(m["meeting_id"])) < 0.35))[0]
        opened = m["meeting_date"][has] + rng.integers(0, 4, len(has)).astype("timedelta64[D]")
        age = rng.lognormal(3.0, 0.8, len(has)).astype(int) + 1
        closed = opened + age.astype("timedelta64[D]")
        end = np.datetime64(END)
        still_open = (closed > end) | (rng.random(len(has)) < 0.04)
        first_tag = np.array([t.split(";")[0] for t in m["concern_tags"][has]], dtype=object)
        return dict(
            follow_up_id=np.array([f"F{i:08d}" for i in range(1, len(has) + 1)], dtype=object),
            meeting_id=m["meeting_id"][has],
            concern_tag=first_tag,
            opened_date=np.minimum(opened, end),
            owner_staff_id=m["lead_staff_id"][has],
            status=np.where(still_open, "open", "closed"),
            closed_date=np.where(still_open, "", closed.astype(str)),
        )

    def staffing(self, staff) -> list[dict]:
        rng, rows = self.rng, []
        months = np.arange(np.datetime64(START, "M"), np.datetime64(END, "M") + 1)
        for unit, _name, _sworn in UNITS:
            for d_i, (div, _dn) in enumerate(DIVISIONS):
                auth = {"SW": 2, "CIO": 3, "CIT": 2, "CFMH": 1, "CHAP": 1, "LIA": 1.5}[unit] * self.copies
                auth = auth + (1 if (unit == "CIT" and div == "NORTH") else 0) * self.copies
                for mo in months:
                    filled = auth - (rng.random() < 0.15) * 0.5 * self.copies
                    if unit == "CIT" and div == "NORTH" and mo >= np.datetime64("2026-04"):
                        filled = auth - 1.5 * self.copies
                    if unit == "LIA" and div == "EAST" and mo >= np.datetime64("2026-07"):
                        filled = auth - 1 * self.copies
                    leave = round(float(rng.choice([0, 0, 0.5, 1])) * (0.5 if auth < 2 else 1), 1)
                    available = max(0.0, filled - leave)
                    rows.append(
                        dict(
                            month=str(mo),
                            unit_code=unit,
                            division_code=div,
                            authorized=f"{auth:g}",
                            filled=f"{filled:g}",
                            available=f"{available:g}",
                        )
                    )
                _ = d_i
        return rows

    def feedback(self, communities) -> dict[str, object]:
        """Responses as small integer codes (labels looked up when the CSV is written), so the L scale
        (50M rows) fits in memory. The random draws are the same, in the same order, as ever."""
        rng = self.rng
        n = self.n_feedback
        days = _days()
        season = _seasonality(days) ** 0.5
        di = rng.choice(len(days), size=n, p=season / season.sum())
        date_ = days[di]
        small = np.array(
            [
                c["name"].split(" (")[0]
                in (
                    "Deaf and Hard of Hearing community",
                    "Sikh community",
                    "Refugee resettlement network",
                    "Somali Cultural Association",
                )
                for c in communities
            ]
        )
        w = np.where(small, 0.02, 1.0)
        w /= w.sum()
        has_comm = rng.random(n) < 0.7
        comm_i = rng.choice(len(communities), size=n, p=w)
        # community: 0 = none, i + 1 = communities[i]
        community = np.where(has_comm, comm_i + 1, 0).astype(np.int32)
        # division: index into DIVISIONS, NO_DIV = none (citywide community / not given)
        codes = {code: i for i, (code, _name) in enumerate(DIVISIONS)}
        no_div = len(DIVISIONS)
        comm_div = np.array([codes.get(c["division_code"], no_div) for c in communities], np.int8)[comm_i]
        del comm_i
        rand_div = rng.integers(0, len(DIVISIONS), n).astype(np.int8)
        division = np.where(has_comm & (comm_div != no_div), comm_div, rand_div)
        del comm_div, rand_div, has_comm
        division[rng.random(n) < 0.05] = no_div
        base = {"CENTRAL": 6.8, "EAST": 6.4, "METRO": 6.6, "NORTH": 7.0, "SOUTH": 6.2, "SHOAL": 7.3, "": 6.7}
        mu = np.array([base[code] for code, _name in DIVISIONS] + [base[""]])[division]
        since = (date_ - np.datetime64(INCIDENT)).astype(int)
        dip = np.where(
            (division == codes["EAST"]) & (since >= 0), -1.6 * np.exp(-np.maximum(since, 0) / 75.0), 0.0
        )
        del since
        trend = 0.25 * (date_ - np.datetime64(START)).astype(int) / 870
        person = rng.normal(0, 1.3, n)
        respect = _score(mu + dip + trend + person + rng.normal(0, 0.8, n))
        listen = _score(mu - 0.3 + dip + trend + person + rng.normal(0, 0.9, n))
        del trend
        safety = _score(mu - 0.2 + 0.6 * dip + person * 0.6 + rng.normal(0, 1.2, n))
        del mu, dip, person
        channel = rng.choice(3, size=n, p=[0.5, 0.3, 0.2]).astype(np.int8)
        # would_contact: 0 = blank, 1 = yes, 2 = no
        wc = np.where(respect.astype(np.int16) + listen >= 12, 1, 2).astype(np.int8)
        wc[rng.random(n) < 0.25] = 0
        has_comment = rng.random(n) < 0.18
        topic_i = rng.integers(0, len(TOPICS), n).astype(np.int8)
        positive = (respect.astype(np.int16) + listen) >= 13
        # comment: 0 = none, 1 + 2 * topic + (0 if positive else 1) = COMMENT_TEXT[topic][...]
        comment = np.where(has_comment, 1 + 2 * topic_i.astype(np.int16) + ~positive, 0).astype(np.int8)
        topic_tags = np.where(has_comment, 1 + topic_i, 0).astype(np.int8)
        del positive, has_comment, topic_i
        order = np.argsort(di, kind="stable")  # days[di] rises with di: the same order as sorting by date
        del di
        texts = [""] + [COMMENT_TEXT[t][j] for t in TOPICS for j in (0, 1)]
        out: dict[str, object] = dict(
            response_date=date_[order],
            channel=Coded(channel[order], ["community_survey", "post_meeting_card", "online_form"]),
            community_id=Coded(community[order], [""] + [c["community_id"] for c in communities]),
            division_code=Coded(division[order], [code for code, _name in DIVISIONS] + [""]),
            safety=safety[order],
            respect=respect[order],
            listen=listen[order],
            would_contact=Coded(wc[order], ["", "yes", "no"]),
            comment=Coded(comment[order], texts),
            topic_tags=Coded(topic_tags[order], [""] + TOPICS),
        )
        out["response_id"] = Ids("R", 9, n)
        return out

    def external_scores(self) -> list[dict]:
        rng, rows = self.rng, []
        months = np.arange(np.datetime64(START, "M"), np.datetime64(END, "M"))
        for mo in months:
            for code, name in DIVISIONS:
                for metric, base in (("trust", 58.0), ("safety", 62.0)):
                    dip = (
                        -7.0
                        if (
                            code == "EAST"
                            and metric == "trust"
                            and np.datetime64("2026-08") <= mo <= np.datetime64("2026-10")
                        )
                        else 0.0
                    )
                    rows.append(
                        dict(
                            period_month=str(mo),
                            area=name,
                            group_name="All residents",
                            metric=metric,
                            score=f"{base + dip + rng.normal(0, 2.0):.1f}",
                            n=str(int(rng.integers(150, 420))),
                            source="City resident survey (open data)",
                        )
                    )
        return rows


def hash_int(text: str) -> int:
    return sum(ord(ch) * (i + 1) for i, ch in enumerate(text))


def _score(x: np.ndarray) -> np.ndarray:
    """A 0-10 item answer from a latent value."""
    return np.clip(np.rint(x), 0, 10).astype(np.int8)


class Coded:
    """A text column held as small integer codes into `labels` (a 50M-row column of Python strings
    would not fit in memory); expanded chunk by chunk as the CSV is written."""

    def __init__(self, codes: np.ndarray, labels: list[str]) -> None:
        self.codes, self.labels = codes, pa.array(labels, pa.string())

    def __len__(self) -> int:
        return len(self.codes)

    def text(self, lo: int, hi: int) -> pa.Array:
        return self.labels.take(pa.array(self.codes[lo:hi]))


class Ids:
    """Sequential ids `prefix` + zero-padded 1..n (R000000001, …), made per chunk."""

    def __init__(self, prefix: str, width: int, n: int) -> None:
        self.prefix, self.width, self.n = prefix, width, n

    def __len__(self) -> int:
        return self.n

    def text(self, lo: int, hi: int) -> pa.Array:
        digits = pc.utf8_lpad(pa.array(np.arange(lo + 1, hi + 1)).cast(pa.string()), self.width, "0")
        return pc.binary_join_element_wise(self.prefix, digits, "")


def _column(v: object, lo: int, hi: int) -> pa.Array:
    if isinstance(v, Coded | Ids):
        return v.text(lo, hi)
    assert isinstance(v, np.ndarray)
    part = v[lo:hi]
    if part.dtype.kind in "iuM":
        return pa.array(part.astype(str), pa.string())
    return pa.array(part.astype(object), pa.string())


CHUNK_ROWS = 1_000_000


def _write(path: Path, columns: list[str], data: dict | list[dict]) -> int:
    """Write one table's CSV, a chunk of rows at a time; returns the row count."""
    schema = pa.schema([(c, pa.string()) for c in columns])
    options = pacsv.WriteOptions(quoting_style="needed")
    with pacsv.CSVWriter(path, schema, write_options=options) as writer:
        if isinstance(data, list):
            writer.write_table(
                pa.table({c: pa.array([str(r[c]) for r in data], pa.string()) for c in columns})
            )
            return len(data)
        n = len(data[columns[0]])
        for lo in range(0, max(n, 1), CHUNK_ROWS):
            hi = min(lo + CHUNK_ROWS, n)
            writer.write_table(pa.table({c: _column(data[c], lo, hi) for c in columns}, schema=schema))
        return n


def generate(scale: str = "sample", out: Path = OUT_DIR, seed: int = SEED) -> dict[str, int]:
    """Write every table's CSV into `out`; return row counts."""
    from data_access.tables import BY_NAME

    b = Builder(scale, seed)
    staff = b.staff()
    communities = b.communities(staff)
    orgs = b.organizations(communities)
    meetings = b.meetings(staff, communities, orgs)
    tables = {
        "patrol_divisions": [dict(division_code=c, name=n) for c, n in DIVISIONS],
        "units": [dict(unit_code=c, name=n, is_sworn=str(s).lower()) for c, n, s in UNITS],
        "staff": staff,
        "communities": communities,
        "organizations": orgs,
        "meetings": meetings,
        "follow_ups": b.follow_ups(meetings),
        "staffing": b.staffing(staff),
        "feedback": b.feedback(communities),
        "external_scores": b.external_scores(),
    }
    out.mkdir(parents=True, exist_ok=True)
    counts = {}
    for name, data in tables.items():
        counts[name] = _write(out / f"{name}.csv", list(BY_NAME[name].column_names), data)
    return counts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", choices=list(SCALES), default="sample")
    ap.add_argument("--out", type=Path, default=OUT_DIR)
    ap.add_argument("--seed", type=int, default=SEED)
    args = ap.parse_args()
    for name, n in generate(args.scale, args.out, args.seed).items():
        print(f"{name:18s} {n:>10,d}")


if __name__ == "__main__":
    main()
