"""A second brand for the tests: Northwind Post, written as a brand file where a test wants it.

Nothing of it is China Post EMS's: another name, colours, logo, hotline (a UK number from
Ofcom's range for drama, never a real line), domain and footer, so that a page rendered under
it shows whether any trace of the default brand is left.
"""

from __future__ import annotations

from pathlib import Path

NAME_EN, NAME_ZH = "Northwind Post", "北风邮政"
HOTLINE = "+44 20 7946 0000"
HOTLINE_TEL = "tel:+442079460000"
DOMAIN = "northwind.example"
FOOTER_EN = "Northwind Post Ltd, 1 Harbour Road, Northwind."
FOOTER_ZH = "北风邮政有限公司，北风港口路 1 号。"
PRIMARY = "#5b1a6e"

NORTHWIND = f"""
name = {{ en = "{NAME_EN}", zh = "{NAME_ZH}" }}
short_name = {{ en = "Northwind", zh = "北风" }}
footer_en = "{FOOTER_EN}"
footer_zh = "{FOOTER_ZH}"
site_url = "https://www.{DOMAIN}"
official_domains = ["{DOMAIN}", "Northwind-Post.example"]
logo = "northwind.svg"

[colours]
primary = "{PRIMARY}"
accent = "#f2c14e"
text_on_primary = "#ffffff"

[[hotlines]]
country = "GB"
label_en = "Northwind customer service"
label_zh = "北风客服热线"
number = "{HOTLINE}"
hours_en = "Monday to Friday, 8:00 to 18:00"
hours_zh = "周一至周五 8:00–18:00"

[[hotlines]]
country = "IE"
label_en = "Northwind in Ireland"
label_zh = "北风邮政爱尔兰客服"
number = "+353 1 555 0100"
note_en = "For items sent to Ireland."
note_zh = "适用于寄往爱尔兰的邮件。"
"""

LOGO = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<circle cx="16" cy="16" r="15" fill="#f2c14e"/></svg>'
)

#: What must not be left anywhere under another brand: China Post EMS's hotlines, names and
#: footer.
DEFAULT_TRACES = (
    "11183",
    "11185",
    "China Post",
    "EMS hotline",
    "中国邮政",
    "China Post EMS",
    "中国邮政速递物流",
    "EMS is the express mail service of China Post.",
    "EMS 是中国邮政的特快专递邮件服务。",
    "ems.com.cn",
    "chinapost.com.cn",
    "Postal Track & Trace",
)


def write_brand(folder: Path, text: str = NORTHWIND) -> Path:
    """The brand file `text` (and its logo) in `folder`; its path."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "northwind.svg").write_text(LOGO, encoding="utf-8")
    path = folder / "brand.toml"
    path.write_text(text, encoding="utf-8")
    return path
