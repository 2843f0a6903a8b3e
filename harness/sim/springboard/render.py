"""Screenshots of the virtual phone: a PNG drawn from the windows on screen (Pillow).

Not a likeness of iOS, but a faithful picture of the state: each element is drawn at its frame
with its label, so a screenshot saved on a recipe miss shows what the phone showed.
"""

from __future__ import annotations

import io

from PIL import Image, ImageDraw, ImageFont

from harness.sim.springboard.element import UIElement
from harness.sim.springboard.screens import HEIGHT, WIDTH, Layer

FILL = {
    "home": (40, 70, 120),
    "lock": (15, 15, 30),
    "app": (245, 245, 245),
    "call": (30, 30, 34),
    "banner": (60, 60, 66),
    "alert": (235, 235, 240),
    "accept": (52, 199, 89),
    "decline": (255, 59, 48),
    "icon": (250, 250, 250),
    "round": (90, 90, 96),
    "slide": (80, 80, 86),
    "plain": (235, 235, 240),
    "bold": (235, 235, 240),
    "siri": (70, 30, 120),
}
TEXT_DARK = {"app", "alert", "icon", "plain", "bold"}


def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default()


def render_png(layers: list[Layer], scale: int = 1) -> bytes:
    """The screen as PNG bytes, ``scale`` pixels per point (a real iPhone 14 Pro is 3)."""
    img = Image.new("RGB", (WIDTH, HEIGHT), (0, 0, 0))
    draw = ImageDraw.Draw(img, "RGBA")
    font = _font(15)
    for layer in layers:
        _draw(draw, layer.root, font, dark_text=False)
    if scale != 1:
        img = img.resize((WIDTH * scale, HEIGHT * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def _draw(
    draw: ImageDraw.ImageDraw,
    e: UIElement,
    font: ImageFont.ImageFont | ImageFont.FreeTypeFont,
    dark_text: bool,
) -> None:
    x, y, w, h = e.frame
    box = (x, y, x + w - 1, y + h - 1)
    if e.style == "dim":
        draw.rectangle(box, fill=(0, 0, 0, 110))
    elif e.style in ("accept", "decline", "round"):
        draw.ellipse(box, fill=FILL[e.style])
    elif e.style in FILL:
        draw.rounded_rectangle(
            box, radius=12 if e.style not in ("home", "lock", "app", "call") else 0, fill=FILL[e.style]
        )
    if e.style in FILL:
        dark_text = e.style in TEXT_DARK
    if e.type in ("StaticText", "Button", "Icon", "Slider") and e.label:
        colour = (20, 20, 20) if dark_text else (255, 255, 255)
        if e.type == "Icon":
            draw.text((x + w / 2, y + h + 8), e.label, fill=(255, 255, 255), font=font, anchor="mt")
        else:
            draw.text((x + w / 2, y + h / 2), e.label, fill=colour, font=font, anchor="mm")
    for child in e.children:
        _draw(draw, child, font, dark_text)
