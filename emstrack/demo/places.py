"""Where the demo's items go: China Post's offices, the countries abroad, and their weights.

Each region has its office of exchange (IMPC), the sorting centres an inbound item passes and
the post offices, named by postcode, that post and deliver; a country's weight is its share of
the outbound items.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import accumulate


@dataclass(frozen=True, slots=True)
class Office:
    """A post office, sorting centre or office of exchange, and its time zone."""

    code: str | None
    name: str
    country: str
    tz: str
    postcode: str | None = None
    explicit: bool = True  # the city's zone is known: give its offset even if the country has many


@dataclass(frozen=True, slots=True)
class Region:
    """The offices of one region that an item passes through."""

    impc: Office  # office of exchange
    sorting: tuple[Office, ...]  # sorting centres an inbound item passes, in order
    places: tuple[Office, ...]  # post offices, named by postcode, that post and deliver


def _region(
    cc: str, tz: str, impc: str, sorting: str, places: str, *, explicit: bool = True
) -> Region:
    """From compact text: impc "USJFKA NEW YORK"; "name;name"; places "postcode|city[|zone];...\""""
    code, name = impc.split(" ", 1)
    offices = []
    for spec in places.split(";"):
        postcode, city, *zone = spec.split("|")
        label = f"{postcode} {city}" if postcode else city
        offices.append(Office(None, label, cc, zone[0] if zone else tz, postcode or None, explicit))
    return Region(
        Office(code, name, cc, tz),
        tuple(Office(None, n, cc, tz) for n in sorting.split(";")),
        tuple(offices),
    )


_SH = "Asia/Shanghai"
# China Post offices: origin of outbound items, destination of inbound and domestic ones.
_CHINA: tuple[tuple[Region, int], ...] = (
    (_region("CN", _SH, "CNSHAD SHANGHAI EMS", "SHANGHAI EMS PROCESSING CENTRE",
             "200040|SHANGHAI JING'AN;200120|SHANGHAI PUDONG;200030|SHANGHAI XUHUI"), 30),
    (_region("CN", _SH, "CNCAND GUANGZHOU EMS", "GUANGZHOU EMS PROCESSING CENTRE",
             "510620|GUANGZHOU TIANHE;510030|GUANGZHOU YUEXIU;523000|DONGGUAN"), 20),
    (_region("CN", _SH, "CNSZXD SHENZHEN EMS", "SHENZHEN EMS PROCESSING CENTRE",
             "518000|SHENZHEN FUTIAN;518057|SHENZHEN NANSHAN"), 20),
    (_region("CN", _SH, "CNBJSD BEIJING EMS", "BEIJING EMS PROCESSING CENTRE",
             "100020|BEIJING CHAOYANG;100080|BEIJING HAIDIAN;100005|BEIJING DONGCHENG"), 15),
    (_region("CN", _SH, "CNHGHD HANGZHOU EMS", "HANGZHOU EMS PROCESSING CENTRE",
             "310012|HANGZHOU XIHU;322000|YIWU"), 15),
)  # fmt: skip

# Destination countries: weight of outbound items, regions, transit offices on the lane.
_ABROAD: tuple[tuple[str, int, tuple[Region, ...], tuple[str, ...]], ...] = (
    ("US", 16, (
        _region("US", "America/New_York", "USJFKA NEW YORK",
                "JERSEY CITY NJ NETWORK DISTRIBUTION CENTER;NEW YORK NY DISTRIBUTION CENTER",
                "10001|NEW YORK NY;11201|BROOKLYN NY;02108|BOSTON MA;19103|PHILADELPHIA PA"),
        _region("US", "America/Los_Angeles", "USLAXA LOS ANGELES",
                "LOS ANGELES CA NETWORK DISTRIBUTION CENTER;SAN FRANCISCO CA DISTRIBUTION CENTER",
                "90012|LOS ANGELES CA;94103|SAN FRANCISCO CA;98101|SEATTLE WA"),
        _region("US", "America/Chicago", "USORDA CHICAGO", "CHICAGO IL NETWORK DISTRIBUTION CENTER",
                "60601|CHICAGO IL;77002|HOUSTON TX;55401|MINNEAPOLIS MN"),
    ), ()),
    ("DE", 8, (_region("DE", "Europe/Berlin", "DEFRAA FRANKFURT",
                       "PAKETZENTRUM NIEDERAULA;ZUSTELLBASIS",
                       "10115|BERLIN;80331|MUENCHEN;20095|HAMBURG;50667|KOELN"),), ()),
    ("GB", 8, (
        _region("GB", "Europe/London", "GBLONA LONDON",
                "HEATHROW WORLDWIDE DISTRIBUTION CENTRE;MOUNT PLEASANT MAIL CENTRE",
                "EC1A 1BB|LONDON;N1 9GU|LONDON;BR1 1AA|BROMLEY"),
        _region("GB", "Europe/London", "GBCVTA COVENTRY", "MANCHESTER MAIL CENTRE",
                "M1 1AE|MANCHESTER;B1 1BB|BIRMINGHAM;LS1 4AP|LEEDS"),
    ), ()),
    ("JP", 7, (
        _region("JP", "Asia/Tokyo", "JPTYOA TOKYO",
                "TOKYO INTERNATIONAL POST OFFICE;SHIN-TOKYO POST OFFICE",
                "100-0005|TOKYO CHIYODA;160-0022|TOKYO SHINJUKU;220-0011|YOKOHAMA"),
        _region("JP", "Asia/Tokyo", "JPOSAA OSAKA", "SHIN-OSAKA POST OFFICE",
                "530-0001|OSAKA KITA;600-8216|KYOTO"),
    ), ()),
    ("AU", 6, (
        _region("AU", "Australia/Sydney", "AUSYDA SYDNEY",
                "SYDNEY PARCELS FACILITY;STRATHFIELD DELIVERY CENTRE",
                "2000|SYDNEY NSW;2150|PARRAMATTA NSW", explicit=False),
        _region("AU", "Australia/Melbourne", "AUMELA MELBOURNE",
                "MELBOURNE PARCELS FACILITY;DANDENONG DELIVERY CENTRE",
                "3000|MELBOURNE VIC;3121|RICHMOND VIC", explicit=False),
    ), ()),
    ("FR", 6, (_region("FR", "Europe/Paris", "FRCDGA ROISSY CDG",
                       "PLATEFORME INTERNATIONALE ROISSY;PLATEFORME COLIS WISSOUS",
                       "75008|PARIS;69002|LYON;13001|MARSEILLE;31000|TOULOUSE"),), ()),
    ("RU", 7, (_region("RU", "Europe/Moscow", "RUMOWA MOSCOW",
                       "MOSKVA SORTING CENTRE VNUKOVO;MOSKVA MAIL PROCESSING CENTRE",
                       "101000|MOSKVA;190000|SANKT-PETERBURG;630099|NOVOSIBIRSK|Asia/Novosibirsk;"
                       "620014|YEKATERINBURG|Asia/Yekaterinburg", explicit=False),), ()),
    ("BR", 5, (_region("BR", "America/Sao_Paulo", "BRSAOA SAO PAULO", "CTCE SAO PAULO;CTE JAGUARE",
                       "01310-100|SAO PAULO SP;20040-020|RIO DE JANEIRO RJ;"
                       "30130-010|BELO HORIZONTE MG"),), ("DEFRAA", "NLAMSA")),
    ("KR", 5, (_region("KR", "Asia/Seoul", "KRSELA SEOUL",
                       "INTERNATIONAL MAIL CENTER INCHEON;DONGSEOUL MAIL CENTER",
                       "04524|SEOUL JUNG-GU;06236|SEOUL GANGNAM-GU;48058|BUSAN HAEUNDAE-GU"),), ()),
    ("CA", 4, (
        _region("CA", "America/Toronto", "CAYTOA TORONTO",
                "GATEWAY PROCESSING PLANT MISSISSAUGA;SCARBOROUGH DEPOT",
                "M5H 2N2|TORONTO ON;H3B 4W5|MONTREAL QC;K1P 5A2|OTTAWA ON"),
        _region("CA", "America/Vancouver", "CAYVRA VANCOUVER", "PACIFIC PROCESSING CENTRE",
                "V6B 1A1|VANCOUVER BC;V8W 1P6|VICTORIA BC"),
    ), ()),
    ("IT", 3, (_region("IT", "Europe/Rome", "ITMILA MILANO", "CMP MILANO ROSERIO;CD MILANO CENTRO",
                       "20121|MILANO;00184|ROMA;50123|FIRENZE"),), ()),
    ("ES", 4, (_region("ES", "Europe/Madrid", "ESMADA MADRID",
                       "CENTRO DE TRATAMIENTO AUTOMATIZADO MADRID;UNIDAD DE REPARTO",
                       "28013|MADRID;08002|BARCELONA;46001|VALENCIA"),), ()),
    ("NL", 3, (_region("NL", "Europe/Amsterdam", "NLAMSA AMSTERDAM", "SORTEERCENTRUM NIEUWEGEIN",
                       "1012 JS|AMSTERDAM;3011 AD|ROTTERDAM;3511 LX|UTRECHT"),), ()),
    ("SG", 3, (_region("SG", "Asia/Singapore", "SGSINA SINGAPORE", "SINGPOST CENTRE",
                       "018956|SINGAPORE;238859|SINGAPORE"),), ()),
    ("TH", 3, (_region("TH", "Asia/Bangkok", "THBKKA BANGKOK", "LAKSI MAIL CENTER",
                       "10330|BANGKOK PATHUM WAN;50200|CHIANG MAI"),), ()),
    ("MY", 3, (_region("MY", "Asia/Kuala_Lumpur", "MYKULA KUALA LUMPUR",
                       "PUSAT MEL NASIONAL SHAH ALAM", "50450|KUALA LUMPUR;10200|GEORGE TOWN"),),
     ()),
    ("NZ", 2, (_region("NZ", "Pacific/Auckland", "NZAKLA AUCKLAND", "AUCKLAND PROCESSING CENTRE",
                       "1010|AUCKLAND;6011|WELLINGTON"),), ()),
    ("IN", 2, (
        _region("IN", "Asia/Kolkata", "INBOMA MUMBAI", "MUMBAI NSH", "400001|MUMBAI;411001|PUNE"),
        _region("IN", "Asia/Kolkata", "INDELA NEW DELHI", "NEW DELHI NSH",
                "110001|NEW DELHI;560001|BENGALURU"),
    ), ()),
    ("AE", 2, (_region("AE", "Asia/Dubai", "AEDXBA DUBAI", "DUBAI MAIL PROCESSING CENTRE",
                       "|DUBAI DEIRA;|ABU DHABI"),), ()),  # the UAE have no postcodes
    ("ZA", 1, (_region("ZA", "Africa/Johannesburg", "ZAJNBA JOHANNESBURG", "WITSPOS MAIL CENTRE",
                       "2001|JOHANNESBURG;8001|CAPE TOWN"),), ("AEDXBA",)),
    ("MX", 2, (_region("MX", "America/Mexico_City", "MXMEXA MEXICO CITY",
                       "CENTRO DE CLASIFICACION PANTACO",
                       "06600|CIUDAD DE MEXICO;44100|GUADALAJARA JAL;"
                       "64000|MONTERREY NL|America/Monterrey"),), ("USLAXA",)),
)  # fmt: skip
REGIONS = {code: regions for code, _, regions, _ in _ABROAD}
TRANSIT = {r.impc.code: r.impc for regions in REGIONS.values() for r in regions}
TRANSIT["HKHKGA"] = Office("HKHKGA", "HONG KONG", "HK", "Asia/Hong_Kong")

# Items posted abroad for China: issuer country, weight, service indicators seen from it.
_INBOUND = (("US", 25, ("EE", "LZ", "CP")), ("DE", 15, ("CP", "RR", "LX")),
            ("GB", 12, ("RR", "CP")), ("JP", 15, ("EA", "RR", "CP")), ("FR", 10, ("LX", "CP")),
            ("KR", 8, ("EM", "RR")), ("AU", 5, ("EE", "CP")), ("CA", 4, ("EE", "RR")),
            ("IT", 3, ("RR", "CP")), ("NL", 3, ("LX", "RR")))  # fmt: skip
OUTBOUND_SI = (
    ("EE",) * 6 + ("EA",) * 3 + ("EB", "EB", "ED", "RR", "RR", "RR", "LX", "LZ", "CP", "CP")
)
DOMESTIC_PREFIXES = ("10", "11", "50", "51", "95", "97")
CHINA_REGIONS = tuple(region for region, _ in _CHINA)
CHINA_CUM = list(accumulate(weight for _, weight in _CHINA))
ABROAD_TO = tuple((country, via) for country, _, _, via in _ABROAD)
ABROAD_CUM = list(accumulate(weight for _, weight, _, _ in _ABROAD))
INBOUND_FROM = tuple((country, sis) for country, _, sis in _INBOUND)
INBOUND_CUM = list(accumulate(weight for _, weight, _ in _INBOUND))
