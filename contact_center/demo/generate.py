"""Deterministic generators for demo identifiers and records (no database access).

Every identifier is valid by the rules `crm.identifiers` enforces: credit codes
carry a correct organisation-code check digit and check character, resident ID
numbers a real region, a real birth date and a correct check digit, and phone
numbers pass libphonenumber's validation.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from dataclasses import dataclass, field

from contact_center.demo import data
from crm import identifiers

ORG_CODE_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)
CN_MOBILE_PREFIXES = [
    "130",
    "131",
    "132",
    "133",
    "135",
    "136",
    "137",
    "138",
    "139",
    "150",
    "151",
    "152",
    "155",
    "156",
    "157",
    "158",
    "159",
    "166",
    "173",
    "177",
    "180",
    "181",
    "182",
    "183",
    "185",
    "186",
    "187",
    "188",
    "189",
    "199",
]
US_AREA_CODES = ["212", "312", "415", "617", "646", "718", "206", "512"]


def org_code(rng: random.Random) -> str:
    """A national organisation code (GB 11714): 8 digits and its check character."""
    body = "".join(rng.choice("0123456789") for _ in range(8))
    remainder = 11 - sum(int(ch) * w for ch, w in zip(body, ORG_CODE_WEIGHTS, strict=True)) % 11
    check = {10: "X", 11: "0"}.get(remainder, str(remainder))
    return body + check


def credit_code(rng: random.Random, region_code: str, registrar: str = "91") -> str:
    """A unified social credit code (GB 32100): registrar+type, region, organisation code, check."""
    first17 = registrar + region_code + org_code(rng)
    return first17 + identifiers.uscc_check_char(first17)


def id_number(rng: random.Random, region_code: str, *, born_after: dt.date, born_before: dt.date) -> str:
    """A resident ID number (GB 11643) with a real birth date and a correct check digit."""
    birth = born_after + dt.timedelta(days=rng.randrange((born_before - born_after).days))
    first17 = f"{region_code}{birth:%Y%m%d}{rng.randrange(1, 1000):03d}"
    return first17 + identifiers.id_number_check_char(first17)


class PhoneBook:
    """Hands out valid, unique E.164 numbers."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: set[str] = set()

    def _unique(self, make) -> str:
        while True:
            candidate = make()
            try:
                number = identifiers.normalize_phone(candidate)
            except ValueError:
                continue
            if number not in self.used:
                self.used.add(number)
                return number

    def cn_mobile(self) -> str:
        rng = self.rng
        return self._unique(lambda: "+86" + rng.choice(CN_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}")

    def foreign(self, country_code: str) -> str:
        rng = self.rng
        if country_code == "+1":
            return self._unique(
                lambda: (
                    f"+1{rng.choice(US_AREA_CODES)}{rng.randrange(2, 10)}{rng.randrange(10, 100)}"
                    f"{rng.randrange(10**4):04d}"
                )
            )
        if country_code == "+44":
            return self._unique(lambda: f"+447{rng.choice('45789')}{rng.randrange(10**8):08d}")
        return self._unique(lambda: f"+65{rng.choice('89')}{rng.randrange(10**7):07d}")


def ascii_slug(text: str) -> str:
    """'Müller' → 'mueller', "O'Brien" → 'obrien' (for email local parts)."""
    text = text.replace("ü", "ue").replace("ö", "oe").replace("ä", "ae")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in text.lower() if ch.isalnum())


def weighted(rng: random.Random, choices: dict):
    return rng.choices(list(choices), weights=list(choices.values()))[0]


@dataclass
class CompanySpec:
    name: str
    credit_code: str | None
    industry: str
    size: str
    region: str
    status: str
    email_domain: str
    service_level: str
    owner: str | None  # username
    tags: list[str]
    age_days: int


@dataclass
class PersonSpec:
    name: str
    language: str  # zh or en
    emails: list[str]
    phones: list[str]
    id_number: str
    address: str
    owner: str | None
    source: str
    lifecycle_stage: str
    service_level: str
    tags: list[str]
    company: int | None  # index into the company specs
    title: str
    age_days: int
    extra: dict = field(default_factory=dict)


OWNER_WEIGHTS = {
    "salesrep": 30,
    "salesrep2": 14,
    "salesmanager": 14,
    "supervisor": 6,
    "agent1": 4,
    None: 32,
}


def companies(rng: random.Random, *, chinese: int = 60) -> list[CompanySpec]:
    specs: list[CompanySpec] = []
    cities = list(data.CITIES)
    cores = rng.sample(data.COMPANY_CORES, chinese)
    codes: set[str] = set()
    for core, pinyin in cores:
        city = rng.choice(cities)
        zh_industry, industry, word = rng.choice(data.INDUSTRIES)
        code = credit_code(rng, data.CITIES[city][3], registrar=rng.choice(["91", "91", "91", "92"]))
        while code in codes:
            code = credit_code(rng, data.CITIES[city][3])
        codes.add(code)
        specs.append(
            CompanySpec(
                name=f"{city}{core}{zh_industry}有限公司",
                credit_code=code,
                industry=industry,
                size=weighted(rng, {"micro": 20, "small": 45, "medium": 25, "large": 10}),
                region=city,
                status=weighted(rng, {"active": 60, "prospect": 30, "inactive": 10}),
                email_domain=f"{pinyin}-{word}.cn" if rng.random() < 0.5 else f"{pinyin}{word}.com.cn",
                service_level=weighted(rng, {"standard": 60, "gold": 30, "platinum": 10}),
                owner=weighted(rng, {"salesrep": 40, "salesrep2": 20, "salesmanager": 25, None: 15}),
                tags=rng.sample(data.COMPANY_TAGS, rng.choice([0, 0, 1, 1, 2])),
                age_days=rng.randrange(120, 1100),
            )
        )
    for name, industry, place, domain in data.FOREIGN_COMPANIES:
        specs.append(
            CompanySpec(
                name=name,
                credit_code=None,
                industry=industry,
                size=weighted(rng, {"small": 40, "medium": 40, "large": 20}),
                region=place,
                status=weighted(rng, {"active": 70, "prospect": 30}),
                email_domain=domain,
                service_level=weighted(rng, {"standard": 50, "gold": 40, "platinum": 10}),
                owner=weighted(rng, {"salesmanager": 50, "salesrep": 30, None: 20}),
                tags=["海外"],
                age_days=rng.randrange(120, 900),
            )
        )
    return specs


def _unique_email(local: str, domain: str, used: set[str], rng: random.Random) -> str:
    address = f"{local}@{domain}"
    while address in used:
        address = f"{local}{rng.randrange(2, 100)}@{domain}"
    used.add(address)
    return address


def people(rng: random.Random, company_specs: list[CompanySpec], *, count: int = 300) -> list[PersonSpec]:
    phones = PhoneBook(rng)
    used_emails: set[str] = set()
    used_ids: set[str] = set()
    chinese_companies = [i for i, c in enumerate(company_specs) if c.credit_code]
    foreign_companies = [i for i, c in enumerate(company_specs) if not c.credit_code]
    specs: list[PersonSpec] = []
    for n in range(count):
        is_chinese = n % 10 < 8  # 80 % Chinese customers, 20 % international
        company = None
        if rng.random() < 0.55:
            company = rng.choice(chinese_companies if is_chinese or rng.random() < 0.3 else foreign_companies)
        company_spec = company_specs[company] if company is not None else None
        owner = company_spec.owner if company_spec and rng.random() < 0.7 else weighted(rng, OWNER_WEIGHTS)
        tags = rng.sample(data.PERSON_TAGS[:4], rng.choice([0, 0, 0, 1, 1, 2]))
        if is_chinese:
            (surname, surname_py), (given, given_py) = rng.choice(data.SURNAMES), rng.choice(data.GIVEN_NAMES)
            name = surname + given
            city = company_spec.region if company_spec and company_spec.region in data.CITIES else None
            city = city or rng.choice(list(data.CITIES))
            province, district, id_region, _code_region, streets = data.CITIES[city]
            if company_spec:
                email = _unique_email(f"{given_py}.{surname_py}", company_spec.email_domain, used_emails, rng)
            elif rng.random() < 0.4:
                email = _unique_email(str(rng.randrange(10**7, 3 * 10**9)), "qq.com", used_emails, rng)
            else:
                domain = rng.choice(data.PUBLIC_MAIL_CN)
                email = _unique_email(f"{given_py}{surname_py}{rng.randrange(80, 100)}", domain, used_emails, rng)
            number = ""
            if rng.random() < 0.4:
                region = id_region if rng.random() < 0.6 else rng.choice(data.BIRTH_REGIONS)
                number = id_number(rng, region, born_after=dt.date(1962, 1, 1), born_before=dt.date(2005, 1, 1))
                while number in used_ids:
                    number = id_number(rng, region, born_after=dt.date(1962, 1, 1), born_before=dt.date(2005, 1, 1))
                used_ids.add(number)
            address = (
                f"{province}{district}{rng.choice(streets)}{rng.randrange(1, 999)}号"
                f"{rng.randrange(1, 20)}栋{rng.randrange(1, 32)}{rng.randrange(1, 6):02d}室"
            )
            specs.append(
                PersonSpec(
                    name=name,
                    language="zh",
                    emails=[email] if rng.random() < 0.9 else [],
                    phones=[phones.cn_mobile()],
                    id_number=number,
                    address=address,
                    owner=owner,
                    source=weighted(
                        rng,
                        {"phone": 20, "website": 20, "chat": 15, "email": 10, "referral": 15, "event": 8, "import": 12},
                    ),
                    lifecycle_stage=weighted(rng, {"potential": 15, "interested": 20, "customer": 55, "churned": 10}),
                    service_level=weighted(rng, {"standard": 75, "gold": 18, "platinum": 7}),
                    tags=tags,
                    company=company,
                    title=rng.choice(data.JOB_TITLES_ZH) if company is not None else "",
                    age_days=rng.randrange(35, 900),
                )
            )
        else:
            first, last = rng.choice(data.FIRST_NAMES), rng.choice(data.LAST_NAMES)
            _place, country_code, address_format = rng.choice(data.FOREIGN_PLACES)
            lives_in_china = rng.random() < 0.2
            local = f"{ascii_slug(first)}.{ascii_slug(last)}"
            domain = company_spec.email_domain if company_spec else rng.choice(data.PUBLIC_MAIL_INTL)
            specs.append(
                PersonSpec(
                    name=f"{first} {last}",
                    language="en",
                    emails=[_unique_email(local, domain, used_emails, rng)],
                    phones=[phones.cn_mobile() if lives_in_china else phones.foreign(country_code)],
                    id_number="",
                    address=(
                        f"上海市静安区南京西路{rng.randrange(1, 1999)}号"
                        if lives_in_china
                        else address_format.format(n=rng.randrange(1, 400))
                    ),
                    owner=owner,
                    source=weighted(rng, {"email": 35, "website": 30, "chat": 20, "referral": 10, "event": 5}),
                    lifecycle_stage=weighted(rng, {"potential": 20, "interested": 25, "customer": 45, "churned": 10}),
                    service_level=weighted(rng, {"standard": 70, "gold": 22, "platinum": 8}),
                    tags=[*tags, "海外"] if not lives_in_china else tags,
                    company=company,
                    title=rng.choice(data.JOB_TITLES_EN) if company is not None else "",
                    age_days=rng.randrange(35, 900),
                )
            )
    return specs
