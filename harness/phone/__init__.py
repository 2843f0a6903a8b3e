"""The harness side of a phone's UI: facebook-wda wrapped once, and SpringBoard recipes.

phone = Phone("http://127.0.0.1:8100", name="caller", timeline=tl, artifacts=out_dir)
phone.launch_app("com.example.voice", {"HARNESS_WHIP_URL": url, "HARNESS_WHIP_TOKEN": token})
phone.dial("tel:+15550100001"); other.answer_call(); phone.end_call()
"""

from harness.phone.locators import Locator
from harness.phone.recipes import Match, Phone
from harness.phone.wda_client import WdaConnection

__all__ = ["Locator", "Match", "Phone", "WdaConnection"]
