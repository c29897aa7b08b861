"""Page language: zh-CN or English, from ?lang=, the language cookie, or the browser's preference."""

from __future__ import annotations

from collections.abc import Mapping

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
    "login.throttled": {"zh": "登录尝试过于频繁，请 {seconds} 秒后再试。",
                        "en": "Too many login attempts; try again in {seconds} s."},
    "login.cross_site": {"zh": "请求来源无效，请刷新页面后重试。", "en": "Invalid request origin; reload the page."},
    "logout": {"zh": "退出登录", "en": "Log out"},
    "language.other": {"zh": "English", "en": "中文"},
    "page.forbidden": {"zh": "您的账户无权打开此页面。", "en": "Your account may not open this page."},
    "page.signed_in_as": {"zh": "当前用户", "en": "Signed in as"},
    "connection.online": {"zh": "实时连接", "en": "Live"},
    "connection.offline": {"zh": "连接中断，正在重连…", "en": "Connection lost; reconnecting…"},
    "connection.connecting": {"zh": "连接中…", "en": "Connecting…"},
    # The counter workstation
    "counter.title": {"zh": "柜台工作台", "en": "Counter workstation"},
    "counter.choose": {"zh": "选择您的柜台", "en": "Choose your counter"},
    "counter.none": {"zh": "您的账户没有分配柜台，请联系管理员。",
                     "en": "Your account has no counters; ask an administrator."},
    "counter.take": {"zh": "进入", "en": "Take"},
    "counter.taken_by": {"zh": "{counter} 已由 {holder} 使用，请选择其他柜台。",
                         "en": "{counter} is taken by {holder}; choose another counter."},
    "counter.leave": {"zh": "离开柜台", "en": "Leave counter"},
    "counter.current": {"zh": "当前号码", "en": "Now serving"},
    "counter.no_current": {"zh": "当前无号码", "en": "Nobody called"},
    "counter.waited": {"zh": "等候时长", "en": "Waited"},
    "counter.handling": {"zh": "办理计时", "en": "Handling"},
    "counter.calls": {"zh": "呼叫次数", "en": "Calls"},
    "counter.priority": {"zh": "优先", "en": "Priority"},
    "counter.call_next": {"zh": "呼叫下一位", "en": "Call next"},
    "counter.recall": {"zh": "重呼", "en": "Recall"},
    "counter.finish": {"zh": "办结", "en": "Finish"},
    "counter.no_show": {"zh": "过号", "en": "No-show"},
    "counter.transfer": {"zh": "转移到业务", "en": "Transfer to service"},
    "counter.transfer_go": {"zh": "转移", "en": "Transfer"},
    "counter.call_number": {"zh": "指定叫号", "en": "Call a number"},
    "counter.call_number_go": {"zh": "呼叫", "en": "Call"},
    "counter.reactivate": {"zh": "过号重排", "en": "Reactivate a no-show"},
    "counter.reactivate_go": {"zh": "重新排队", "en": "Reactivate"},
    "counter.recent_no_shows": {"zh": "本柜台近期过号", "en": "Recent no-shows here"},
    "counter.pause": {"zh": "暂停", "en": "Pause"},
    "counter.pause_reason": {"zh": "暂停原因", "en": "Pause reason"},
    "counter.reason_default": {"zh": "休息", "en": "Break"},
    "counter.resume": {"zh": "恢复服务", "en": "Resume"},
    "counter.close": {"zh": "关闭柜台", "en": "Close counter"},
    "counter.logout": {"zh": "退出登录", "en": "Log out"},
    "counter.status.open": {"zh": "服务中", "en": "Open"},
    "counter.status.paused": {"zh": "暂停", "en": "Paused"},
    "counter.status.closed": {"zh": "已关闭", "en": "Closed"},
    "counter.waiting": {"zh": "等候人数", "en": "Waiting"},
    "counter.next": {"zh": "即将呼叫", "en": "Next up"},
    "counter.next_empty": {"zh": "无人等候", "en": "Nobody waiting"},
    "counter.today": {"zh": "今日本人", "en": "You today"},
    "counter.served": {"zh": "已办结", "en": "Served"},
    "counter.average": {"zh": "平均办理时长", "en": "Average handling"},
    "counter.shortcuts": {"zh": "键盘快捷键", "en": "Keyboard shortcuts"},
    "counter.shortcuts_note": {
        "zh": "在输入框中时快捷键不生效；按 Esc 离开输入框，按 Enter 确认。",
        "en": "Shortcuts are off while typing in a field; Esc leaves the field, Enter confirms.",
    },
    "counter.called": {"zh": "已呼叫 {number}", "en": "Called {number}"},
    "counter.nobody_waiting": {"zh": "当前无人等候。", "en": "Nobody is waiting."},
    "counter.done": {"zh": "完成：{what}", "en": "Done: {what}"},
    # Error codes of the API, as staff read them
    "error.counter_taken": {"zh": "该柜台已由 {holder} 使用。", "en": "The counter is taken by {holder}."},
    "error.not_taken": {"zh": "该柜台未被占用。", "en": "Nobody holds this counter."},
    "error.counter_not_open": {"zh": "柜台未开放（{state}），请先恢复服务。",
                               "en": "The counter is {state}; resume it first."},
    "error.counter_busy": {"zh": "正在办理 {number}，请先办结、过号或转移。",
                           "en": "Serving {number}: finish it, mark it a no-show or transfer it first."},
    "error.no_current_ticket": {"zh": "当前没有正在办理的号码。", "en": "There is no current ticket."},
    "error.invalid_state": {"zh": "当前状态（{state}）不允许此操作。", "en": "Not possible in state {state}."},
    "error.not_served_here": {"zh": "本柜台不办理该业务。", "en": "This counter does not serve that service."},
    "error.reactivation_window_passed": {"zh": "该号码过号时间太久，无法重新排队。",
                                         "en": "That ticket missed its turn too long ago to be reactivated."},
    "error.not_found": {"zh": "未找到：{message}", "en": "Not found: {message}"},
    "error.csrf": {"zh": "页面已过期，请刷新。", "en": "The page is out of date; reload it."},
    "error.forbidden": {"zh": "无权执行此操作。", "en": "You may not do this."},
    "error.unauthorized": {"zh": "登录已失效，请重新登录。", "en": "Your session ended; log in again."},
    "error.network": {"zh": "无法连接服务器，请稍后再试。", "en": "The server cannot be reached; try again."},
    # Administration
    "admin.title": {"zh": "网点管理", "en": "Branch administration"},
    "admin.read_only": {"zh": "经理账户：只读，可发布通知和过号重排。",
                        "en": "Manager account: read only, except notices and reactivations."},
    "admin.admin_only": {"zh": "仅管理员可见。", "en": "Administrators only."},
    "admin.tab.overview": {"zh": "实时概览", "en": "Live overview"},
    "admin.tab.services": {"zh": "业务", "en": "Services"},
    "admin.tab.counters": {"zh": "柜台", "en": "Counters"},
    "admin.tab.hours": {"zh": "营业时间", "en": "Opening hours"},
    "admin.tab.users": {"zh": "员工账户", "en": "Staff accounts"},
    "admin.tab.devices": {"zh": "设备", "en": "Devices"},
    "admin.tab.notices": {"zh": "通知", "en": "Notices"},
    "admin.tab.audit": {"zh": "审计日志", "en": "Audit log"},
    "admin.save": {"zh": "保存", "en": "Save"},
    "admin.delete": {"zh": "删除", "en": "Delete"},
    "admin.add": {"zh": "添加", "en": "Add"},
    "admin.saved": {"zh": "已保存。", "en": "Saved."},
    "admin.deleted": {"zh": "已删除。", "en": "Deleted."},
    "admin.id": {"zh": "编号", "en": "Id"},
    "admin.prefix": {"zh": "号码前缀", "en": "Prefix"},
    "admin.name_zh": {"zh": "中文名称", "en": "Chinese name"},
    "admin.name_en": {"zh": "英文名称", "en": "English name"},
    "admin.target_wait_min": {"zh": "目标等候（分钟）", "en": "Target wait (min)"},
    "admin.daily_cap": {"zh": "每日限额（0=不限）", "en": "Daily cap (0 = none)"},
    "admin.stop_issuing": {"zh": "闭店前停止取号（分钟）", "en": "Stop issuing before close (min)"},
    "admin.average_handling_s": {"zh": "平均办理（秒）", "en": "Average handling (s)"},
    "admin.served_by": {"zh": "办理柜台", "en": "Served at counters"},
    "admin.services": {"zh": "办理业务", "en": "Services"},
    "admin.initial_status": {"zh": "初始状态", "en": "Initial status"},
    "admin.status": {"zh": "状态", "en": "Status"},
    "admin.reason": {"zh": "原因", "en": "Reason"},
    "admin.holder": {"zh": "使用人", "en": "Held by"},
    "admin.current": {"zh": "当前号码", "en": "Now serving"},
    "admin.waiting": {"zh": "等候", "en": "Waiting"},
    "admin.priority_waiting": {"zh": "其中优先", "en": "Of which priority"},
    "admin.weekday.mon": {"zh": "周一", "en": "Monday"},
    "admin.weekday.tue": {"zh": "周二", "en": "Tuesday"},
    "admin.weekday.wed": {"zh": "周三", "en": "Wednesday"},
    "admin.weekday.thu": {"zh": "周四", "en": "Thursday"},
    "admin.weekday.fri": {"zh": "周五", "en": "Friday"},
    "admin.weekday.sat": {"zh": "周六", "en": "Saturday"},
    "admin.weekday.sun": {"zh": "周日", "en": "Sunday"},
    "admin.hours_help": {"zh": "格式：08:30-12:00, 13:00-17:00；不营业填 closed。",
                         "en": "Format: 08:30-12:00, 13:00-17:00; closed for a closed day."},
    "admin.closed_dates": {"zh": "休息日期（每行一个，如 2026-10-01）",
                           "en": "Closed dates (one a line, e.g. 2026-10-01)"},
    "admin.branch_settings": {"zh": "网点设置", "en": "Branch settings"},
    "admin.timezone": {"zh": "时区", "en": "Time zone"},
    "admin.number_width": {"zh": "号码位数", "en": "Number digits"},
    "admin.priority_cap": {"zh": "优先号连续上限", "en": "Priority tickets in a row"},
    "admin.no_show_window_min": {"zh": "过号可重排时限（分钟）", "en": "No-show reactivation window (min)"},
    "admin.no_show_places_back": {"zh": "过号重排后退位数", "en": "Places back on reactivation"},
    "admin.allow_priority": {"zh": "允许优先号", "en": "Priority tickets"},
    "admin.username": {"zh": "用户名", "en": "Username"},
    "admin.password": {"zh": "密码（至少 8 位）", "en": "Password (8+ characters)"},
    "admin.role": {"zh": "角色", "en": "Role"},
    "admin.counters": {"zh": "柜台", "en": "Counters"},
    "admin.disabled": {"zh": "已停用", "en": "Disabled"},
    "admin.disable": {"zh": "停用", "en": "Disable"},
    "admin.enable": {"zh": "启用", "en": "Enable"},
    "admin.reset_password": {"zh": "重置密码", "en": "Reset password"},
    "admin.new_password": {"zh": "新密码", "en": "New password"},
    "admin.create_user": {"zh": "新建账户", "en": "New account"},
    "admin.create": {"zh": "创建", "en": "Create"},
    "admin.devices_unavailable": {"zh": "设备状态不可用（服务器未提供设备接口）。",
                                  "en": "Device status is not available (the server has no devices endpoint)."},
    "admin.device": {"zh": "设备", "en": "Device"},
    "admin.address": {"zh": "地址", "en": "Address"},
    "admin.last_heartbeat": {"zh": "最近心跳", "en": "Last heartbeat"},
    "admin.printer": {"zh": "打印机", "en": "Printer"},
    "admin.online": {"zh": "在线", "en": "Online"},
    "admin.offline": {"zh": "离线", "en": "Offline"},
    "admin.never": {"zh": "从未连接", "en": "Never connected"},
    "admin.revoke": {"zh": "吊销令牌", "en": "Revoke token"},
    "admin.create_device": {"zh": "新建设备账户", "en": "New device account"},
    "admin.device_link": {"zh": "设备令牌（只显示一次）", "en": "Device token (shown once)"},
    "admin.display_link": {"zh": "显示屏链接", "en": "Display link"},
    "admin.notice_zh": {"zh": "中文通知", "en": "Notice (Chinese)"},
    "admin.notice_en": {"zh": "英文通知", "en": "Notice (English)"},
    "admin.emergency": {"zh": "紧急通知", "en": "Emergency"},
    "admin.post_notice": {"zh": "发布", "en": "Post"},
    "admin.clear_notice": {"zh": "清除通知", "en": "Clear notice"},
    "admin.current_notice": {"zh": "当前通知", "en": "Current notice"},
    "admin.no_notice": {"zh": "无", "en": "None"},
    "admin.reactivate": {"zh": "过号重排", "en": "Reactivate a no-show"},
    "admin.number": {"zh": "号码", "en": "Number"},
    "admin.counter": {"zh": "柜台", "en": "Counter"},
    "admin.at": {"zh": "时间", "en": "When"},
    "admin.actor": {"zh": "操作人", "en": "Who"},
    "admin.source": {"zh": "来源地址", "en": "From"},
    "admin.action": {"zh": "操作", "en": "Action"},
    "admin.details": {"zh": "详情", "en": "Details"},
    "admin.recent_calls": {"zh": "最近叫号", "en": "Last calls"},
    # Links between the managers' pages
    "nav.complaints": {"zh": "客户投诉", "en": "Complaints"},
}


#: A page's own texts, kept in its module (key -> language -> words), looked up before ``TEXTS``.
PageTexts = Mapping[str, Mapping[str, str]]


def translate(key: str, lang: str, extra: PageTexts | None = None) -> str:
    words = (extra or {}).get(key) or TEXTS[key]
    return words[lang]


def texts_for(lang: str, *prefixes: str) -> dict[str, str]:
    """The texts whose keys start with one of ``prefixes``, in ``lang``: what a page's script needs."""
    return {key: words[lang] for key, words in TEXTS.items() if key.startswith(prefixes)}
