"""What the hotline says and texts, in Chinese: every prompt in one place, and the helpers that
turn numbers, instants and durations into words a caller hears."""
from __future__ import annotations

from datetime import datetime, timedelta

from desk.timeparse import local

# On the telephone a 1 is read 幺, so that it is not heard as 7 (七).
DIGITS = "零幺二三四五六七八九"
KIND_WORDS = {"interruption": "业务中断", "degradation": "业务受损"}
STATUS_WORDS = {
    "open": "已登记，等待工程师受理",
    "acknowledged": "工程师已受理，正在处理",
    "restored": "已恢复，等待贵单位确认",
    "confirmed": "已确认恢复，工单办结",
    "merged": "已与同一故障的其他报障合并处理",
}

GREETING = "您好，这里是警务专网故障受理热线。"
MENU = "报障请按1，查询工单请按2，重听请按0。"
NO_INPUT = "没有收到您的按键。"
WRONG_INPUT = "您的输入有误。"
GOODBYE = "感谢您的来电，再见。"
GOODBYE_UNHEARD = "很抱歉，没有收到有效的输入。如需报障请重新拨打，再见。"
ASK_UNIT_CODE = "本号码未登记。请用电话键盘输入单位代码，字母按其所在的数字键，以井号键结束。"
ASK_PIN = "请输入单位的热线密码，以井号键结束。"
WRONG_PIN = "单位代码或密码不正确。"
REFUSED = "很抱歉，验证未通过。请联系贵单位的合同负责人或客户经理获取热线密码。感谢来电，再见。"
LOCKED = "该单位代码的验证失败次数过多，已暂停一小时。请联系客户经理，再见。"
ASK_KIND = "业务完全中断请按1，业务受损请按2。"
ASK_RECORDING = "请在提示音后简要说明故障地点和现象，说完请按井号键。不需要说明请直接按井号键。"
ASK_TICKET = "请输入工单号，以井号键结束。"
TICKET_NOT_FOUND = "没有找到贵单位的这个工单。"
ASK_ANOTHER_TICKET = "查询其他工单请输入工单号并按井号键，结束请挂机。"
UNAVAILABLE = "很抱歉，故障受理系统暂时无法处理您的来电，请稍后重拨，或联系您的客户经理。"
CANNOT_HANDLE = "很抱歉，热线无法受理这次来电，请联系您的客户经理报障。再见。"
UNAVAILABLE_SMS = "【警务专网】系统暂时无法处理您的短信，请稍后重发或致电热线。"
CALL_DESCRIPTION = "热线电话报障"
CALL_DESCRIPTION_RECORDED = "热线电话报障（故障说明见录音）"

SMS_HELP = ("【警务专网】报障请发送：报障 单位代码 故障描述（如：报障 QMGA 中断 城区终端无信号；"
            "“中断”或“受损”可省略，默认中断）。查询请发送：查询 工单号")
SMS_UNREGISTERED = "【警务专网】本号码未登记为该单位的报障号码，请致电热线，或请单位负责人登记本号码。"
SMS_NO_UNIT = "【警务专网】没有单位代码为{code}的单位。" + "报障格式：报障 单位代码 故障描述"
SMS_REFUSED = "【警务专网】报障未受理：{reason}"
SMS_TICKET_NOT_FOUND = "【警务专网】没有找到贵单位的工单{number}。"


def sms_refused(errors: list[str]) -> str:
    """Why a report by SMS was refused, in Chinese: the services give their reasons in English."""
    from desk.web.i18n import in_chinese

    return SMS_REFUSED.format(reason="；".join(in_chinese(error) for error in errors))


def digits(number: str) -> str:
    """Read digit by digit: 000123 → 零 零 零 幺 二 三."""
    return " ".join(DIGITS[int(d)] for d in number if d.isdigit())


def duration(delta: timedelta) -> str:
    minutes = max(0, int(delta.total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    if hours and minutes:
        return f"{hours}小时{minutes}分钟"
    if hours:
        return f"{hours}小时"
    return f"{minutes}分钟"


def instant(at: datetime, tz: str) -> str:
    moment = local(at, tz)
    return f"{moment.month}月{moment.day}日{moment.hour}点{moment.minute:02d}分"


def filed(number: str, deadline: datetime | None, tz: str) -> str:
    text = f"您的报障已受理。工单号：{digits(number)}。"
    if deadline is not None:
        text += f"修复时限为{instant(deadline, tz)}。"
    return text + "确认短信将发送到您的手机。"


def confirmation_sms(ticket, deadline: datetime | None) -> str:
    tz = ticket.incident.contract.timezone
    text = f"【报障受理】工单{ticket.number}（{KIND_WORDS.get(ticket.kind, ticket.kind)}）已登记"
    if deadline is not None:
        text += f"，修复时限{local(deadline, tz):%m-%d %H:%M}（四.(三)）"
    return text + f"。查询请回复：查询 {ticket.number}"


def status(ticket, incident, deadline: datetime | None, now: datetime) -> str:
    """The state of a ticket, and the time left to its repair deadline while the fault is open."""
    tz = incident.contract.timezone
    text = f"工单{ticket.number}：{STATUS_WORDS.get(incident.status, incident.status)}。"
    if incident.is_open and deadline is not None:
        if deadline > now:
            text += f"距修复时限还有{duration(deadline - now)}（{instant(deadline, tz)}）。"
        else:
            text += f"已超过修复时限{duration(now - deadline)}。"
    elif incident.restored_at is not None:
        text += f"恢复时间{instant(incident.restored_at, tz)}。"
    return text


def spoken_status(ticket, text: str) -> str:
    """The status for the ear: the ticket number read digit by digit."""
    return text.replace(f"工单{ticket.number}", f"工单{digits(ticket.number)}", 1)
