"""OnlineLendingCN: small online consumer loans in China (a few thousand yuan, 3–12 months)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
from faker import Faker

from arrears.sim.worlds.people import (
    People,
    first_reference,
    pools,
    references_frame,
    unique_numbers,
)
from arrears.sim.worlds.population import Book, LoanTerms
from arrears.sim.worlds.world import World

# Province, its cities, a weight (roughly population), the postal-code prefix, and the zone people
# there live by. Xinjiang lives partly on Xinjiang time (UTC+6); the platform's zone table gives it
# both zones.
PROVINCES = (
    ("广东省", ("广州市", "深圳市", "东莞市", "佛山市"), 12, "51", "Asia/Shanghai"),
    ("山东省", ("济南市", "青岛市", "烟台市"), 10, "25", "Asia/Shanghai"),
    ("河南省", ("郑州市", "洛阳市", "南阳市"), 9, "45", "Asia/Shanghai"),
    ("江苏省", ("南京市", "苏州市", "无锡市"), 8, "21", "Asia/Shanghai"),
    ("四川省", ("成都市", "绵阳市", "宜宾市"), 8, "61", "Asia/Shanghai"),
    ("河北省", ("石家庄市", "保定市", "唐山市"), 7, "05", "Asia/Shanghai"),
    ("湖南省", ("长沙市", "株洲市", "衡阳市"), 6, "41", "Asia/Shanghai"),
    ("浙江省", ("杭州市", "宁波市", "温州市"), 6, "31", "Asia/Shanghai"),
    ("安徽省", ("合肥市", "芜湖市"), 6, "23", "Asia/Shanghai"),
    ("湖北省", ("武汉市", "宜昌市", "襄阳市"), 6, "43", "Asia/Shanghai"),
    ("广西壮族自治区", ("南宁市", "柳州市", "桂林市"), 5, "53", "Asia/Shanghai"),
    ("福建省", ("福州市", "厦门市", "泉州市"), 4, "35", "Asia/Shanghai"),
    ("上海市", ("上海市",), 3, "20", "Asia/Shanghai"),
    ("北京市", ("北京市",), 3, "10", "Asia/Shanghai"),
    ("重庆市", ("重庆市",), 3, "40", "Asia/Shanghai"),
    ("陕西省", ("西安市", "宝鸡市"), 3, "71", "Asia/Shanghai"),
    ("云南省", ("昆明市", "大理市"), 3, "65", "Asia/Shanghai"),
    ("新疆维吾尔自治区", ("乌鲁木齐市", "喀什市"), 2, "83", "Asia/Urumqi"),
)
MOBILE_PREFIXES = (130, 131, 132, 133, 135, 136, 137, 138, 139, 150, 151, 152, 155, 157, 158, 159,
                   166, 176, 177, 180, 181, 182, 185, 186, 187, 188, 189, 198, 199)
RELATIONS = (("spouse", "parent", "friend", "colleague"), (0.35, 0.35, 0.2, 0.1))


class OnlineLendingCN(World):
    prefix = "CN"
    locale = "zh_CN"
    lender_type = "licensed"
    terms = LoanTerms(
        currency="CNY",
        principal=(1000, 8000, 100),
        terms=(3, 6, 9, 12),
        rate=(0.18, 0.24),
        methods=("annuity", "equal_principal"),
        method_p=(0.7, 0.3),
        penalty_rate_daily="0.0005",
        capped=True,
        type_shares=(0.73, 0.24, 0.015, 0.015),
    )
    # Personal bankruptcy exists only in Shenzhen (2021); elsewhere it is all but unheard of.
    bankruptcy_scale = 0.05
    payment_methods = (("wallet", "bank_transfer", "auto_debit"), (0.6, 0.3, 0.1))

    def draw_people(self, rng: np.random.Generator, fake: Faker, book: Book) -> People:
        n = book.borrower_type.shape[0]
        last, first, streets = pools(fake, 400, "last_name", "first_name", "street_address")
        names = [last[i] + first[j] for i, j in zip(rng.integers(0, 400, n), rng.integers(0, 400, n))]
        phone = _mobiles(rng, 0, n)
        weights = np.array([p[2] for p in PROVINCES], dtype=float)
        prov = rng.choice(len(PROVINCES), n, p=weights / weights.sum())
        city_pick = rng.integers(0, 4, n)
        region = [PROVINCES[p][0] for p in prov]
        city = [PROVINCES[p][1][c % len(PROVINCES[p][1])] for p, c in zip(prov, city_pick)]
        postal = [f"{PROVINCES[p][3]}{k:04d}" for p, k in zip(prov, rng.integers(0, 10000, n))]
        # Xinjiang: about half live by Xinjiang time.
        home = np.array([PROVINCES[p][4] for p in prov], dtype=object)
        home = np.where((home == "Asia/Urumqi") & (rng.random(n) < 0.5), "Asia/Shanghai", home)
        street = [streets[i] for i in rng.integers(0, 400, n)]
        address = [c + s for c, s in zip(city, street)]
        has_email = rng.random(n) < 0.25
        email = np.array([f"{1_000_000 + k}@example.com" if e else None
                          for k, e in zip(unique_numbers(0, n, 9_000_000, 17), has_email)], dtype=object)
        explicit = rng.random(n) < 0.3
        born = self.start_date.toordinal() - rng.integers(20 * 365, 55 * 365, n)
        borrowers = pl.DataFrame({
            "borrower_id": [f"CN-B{i:06d}" for i in range(n)],
            "name": names,
            "phone": list(phone),
            "email": list(email),
            "language": ["zh-CN"] * n,
            "jurisdiction": ["CN"] * n,
            "timezone": [z if e else None for z, e in zip(home, explicit)],
            "address": address,
            "city": city,
            "region": region,
            "postal_code": postal,
            "country": ["CN"] * n,
            "date_of_birth": pl.Series([dt.date.fromordinal(int(b)) for b in born], dtype=pl.Date),
            "monthly_income": [f"{k * 100}.00" for k in rng.integers(30, 200, n)],
            "monthly_income_currency": ["CNY"] * n,
        }, schema_overrides={"timezone": pl.String, "email": pl.String})
        refs = _references(rng, book, n, last, first)
        return People(
            borrowers=borrowers,
            references=refs,
            agents=_agents(self.loans),
            phone=np.array(phone, dtype=object),
            email=email,
            postal=np.array(address, dtype=object),
            home_zone=home,
            first_reference=first_reference(refs, n, "CN"),
            reference_phone=dict(zip(refs["reference_id"], refs["phone"])),
        )


def _mobiles(rng: np.random.Generator, start: int, count: int) -> list[str]:
    prefix = np.array(MOBILE_PREFIXES)[rng.integers(0, len(MOBILE_PREFIXES), count)]
    rest = unique_numbers(start, count, 10**8, 12_345)
    return [f"+86{p}{r:08d}" for p, r in zip(prefix, rest)]


def _references(rng, book: Book, n: int, last: list[str], first: list[str]) -> pl.DataFrame:
    count = np.where(rng.random(n) < 0.65, np.where(rng.random(n) < 0.3, 2, 1), 0)
    owners = np.repeat(np.arange(n), count)
    k = owners.shape[0]
    names = [last[i] + first[j] for i, j in zip(rng.integers(0, 400, k), rng.integers(0, 400, k))]
    # Reference numbers come from the far end of the walk, so they never equal a borrower's.
    phones = _mobiles(rng, 10**8 - k, k)
    first_loan = np.full(n, np.iinfo(np.int64).max)
    np.minimum.at(first_loan, book.loan_borrower, book.ledger.disbursed.astype(np.int64))
    return references_frame(rng, "CN", owners, names, phones, RELATIONS, 0.7, first_loan[owners])


def _agents(loans: int) -> pl.DataFrame:
    n = max(2, loans // 400)
    field = np.arange(n) % 10 == 9
    return pl.DataFrame({
        "agent_id": [f"CN-A{i:03d}" for i in range(n)],
        "team": ["hangzhou" if i % 2 == 0 else "chengdu" for i in range(n)],
        "languages": ["zh-CN"] * n,
        "jurisdictions": ["CN"] * n,
        "daily_calls": np.where(field, 20, 120).astype(np.int64),
        "daily_visits": np.where(field, 4, 0).astype(np.int64),
    })
