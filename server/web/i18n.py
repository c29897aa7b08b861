"""Page language: zh-CN or English, from ?lang=, the language cookie, or the browser's preference."""

from __future__ import annotations

from starlette.requests import Request

LANGUAGES = ("zh", "en")
LANG_COOKIE = "nextup_lang"


def page_language(request: Request) -> str:
    chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE, "")
    if chosen in LANGUAGES:
        return chosen
    accept = request.headers.get("accept-language", "").lower()
    first = accept.split(",", 1)[0].strip()
    return "en" if first.startswith("en") else "zh"


TEXTS: dict[str, dict[str, str]] = {
    "login.title": {"zh": "员工登录", "en": "Staff login"},
    "login.username": {"zh": "用户名", "en": "Username"},
    "login.password": {"zh": "密码", "en": "Password"},
    "login.submit": {"zh": "登录", "en": "Log in"},
    "login.failed": {"zh": "用户名或密码错误。", "en": "Wrong username or password."},
    "login.locked": {"zh": "登录失败次数过多，账户已暂时锁定，请稍后再试。",
                     "en": "Too many failed logins: the account is locked for a while. Try again later."},
    "login.cross_site": {"zh": "请求来源无效，请刷新页面后重试。", "en": "Invalid request origin; reload the page."},
    "logout": {"zh": "退出登录", "en": "Log out"},
    "language.other": {"zh": "English", "en": "中文"},
}


def translate(key: str, lang: str) -> str:
    return TEXTS[key][lang]
