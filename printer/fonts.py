"""Finding a font that can draw Chinese, for raster printing and previews."""

from __future__ import annotations

import functools
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from PIL import ImageFont

from printer.errors import FontNotFound

#: Checked in order after an explicitly configured font. Noto first: Debian's
#: fonts-noto-cjk, the package the project documents.
CANDIDATE_PATHS: tuple[str, ...] = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/arphic/uming.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)

_INSTALL_HINT = (
    "install one (Debian/Ubuntu: apt-get install -y fonts-noto-cjk) "
    "or set PrinterProfile.font_path to a .ttf/.ttc/.otf with Chinese glyphs"
)


@dataclass(frozen=True)
class FontSpec:
    """A font file and the face inside it (``.ttc`` collections hold several)."""

    path: str
    index: int = 0


def _faces(path: str) -> list[tuple[int, str]]:
    """(index, family name) of every face in a font file."""
    faces: list[tuple[int, str]] = []
    for index in range(64):
        try:
            font = ImageFont.truetype(path, 24, index=index)
        except OSError:
            break
        faces.append((index, font.getname()[0] or ""))
    return faces


def _face_score(family: str) -> int:
    # Monospaced faces draw Latin at exactly half the CJK width, which is the
    # printer's own 12/24-dot grid, so raster tickets wrap like text tickets;
    # Simplified Chinese faces use the glyph shapes mainland customers expect.
    score = 0
    if "mono" in family.lower():
        score += 1
    if any(tag in family for tag in (" SC", " CN", "GB")):
        score += 2
    return score


def _draws_chinese(path: str, index: int) -> bool:
    """True when the face has real glyphs for Chinese text.

    fc-match happily returns a Latin-only fallback, and a font without the
    glyphs draws identical "tofu" boxes, so compare three distinct characters.
    """
    try:
        font = ImageFont.truetype(path, 24, index=index)
    except OSError:
        return False
    masks = {bytes(font.getmask(ch)) for ch in "前后木"}
    return len(masks) == 3 and all(any(mask) for mask in masks)


def _best_face(path: str) -> FontSpec | None:
    faces = sorted(_faces(path), key=lambda face: (-_face_score(face[1]), face[0]))
    for index, _family in faces:
        if _draws_chinese(path, index):
            return FontSpec(path, index)
    return None


def _fc_match_path() -> str | None:
    if shutil.which("fc-match") is None:
        return None
    try:
        result = subprocess.run(
            ["fc-match", "-f", "%{file}", ":lang=zh-cn"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return result.stdout.strip() or None


@functools.lru_cache(maxsize=16)
def find_cjk_font(configured: str | None = None) -> FontSpec:
    """Return a font face able to draw Chinese, or raise FontNotFound.

    A configured path is used as given and never silently replaced: a typo in
    the config should fail loudly rather than print in some other font.
    """
    if configured is not None:
        if not Path(configured).is_file():
            raise FontNotFound(f"configured font_path {configured!r} does not exist")
        spec = _best_face(configured)
        if spec is None:
            raise FontNotFound(f"configured font_path {configured!r} cannot draw Chinese")
        return spec
    searched: list[str] = []
    for path in CANDIDATE_PATHS:
        searched.append(path)
        if Path(path).is_file() and (spec := _best_face(path)) is not None:
            return spec
    fc_path = _fc_match_path()
    if fc_path is not None:
        searched.append(f"{fc_path} (fc-match :lang=zh-cn)")
        if Path(fc_path).is_file() and (spec := _best_face(fc_path)) is not None:
            return spec
    raise FontNotFound("no font able to draw Chinese found; searched: " + ", ".join(searched) + "; " + _INSTALL_HINT)


@functools.lru_cache(maxsize=64)
def load_font(spec: FontSpec, size_px: int) -> ImageFont.FreeTypeFont:
    """Load a face at a pixel size, with the basic layout engine.

    Basic layout instead of Raqm keeps rendering identical whether or not
    libraqm happens to be installed, which is what keeps output deterministic.
    """
    return ImageFont.truetype(spec.path, size_px, index=spec.index, layout_engine=ImageFont.Layout.BASIC)
