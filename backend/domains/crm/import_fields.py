"""What a CSV column can be imported as: the target fields per entity (plus ``cf.<key>`` for each active custom
field of the entity), header synonyms (English, Korean, Japanese, Russian) for the suggested mapping, the mapping
check, and the cell parsers (yes/no, lists, dates, amounts)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from backend.domains.crm.custom_fields_models import CustomField
from backend.kit.errors import FieldError, Invalid

CUSTOM = "cf."
RECORD_OF = {"accounts": "account", "contacts": "contact", "deals": "deal"}  # import entity → custom field entity


def lazy(message: str) -> str:
    """Marks a message for extraction where it is written; it is translated where it is shown."""
    return message


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    label: str  # English, translated where shown; a custom field's label is shown as its definer wrote it
    required: bool = False
    synonyms: tuple[str, ...] = ()
    custom: bool = False


_ACCOUNT_NAME = ("account", "account name", "company", "company name", "organization", "organisation", "client",
                 "customer", "회사", "회사명", "거래처", "거래처명", "고객사", "상호", "会社", "会社名", "企業名",
                 "取引先", "取引先名", "顧客名", "компания", "организация", "клиент", "контрагент", "наименование")
_OWNER = ("owner", "owner email", "sales rep", "rep", "manager email", "담당 영업", "영업 담당자", "担当営業",
          "ответственный", "менеджер")
_SOURCE = ("source", "channel", "lead source", "source channel", "유입경로", "출처", "流入元", "流入経路", "ソース",
           "источник", "канал")

TARGETS: dict[str, tuple[Target, ...]] = {
    "accounts": (
        Target("name", lazy("Name"), True, ("name", *_ACCOUNT_NAME, "название", "имя")),
        Target("kind", lazy("Kind"), False, ("type", "account type", "유형", "種別", "тип")),
        Target("status", lazy("Status"), False, ("lifecycle", "stage", "상태", "ステータス", "状態", "статус")),
        Target("tags", lazy("Tags"), False, ("tag", "labels", "태그", "タグ", "теги", "метки")),
        Target("is_shared", lazy("Shared"), False, ("shared", "공유", "共有", "общий")),
        Target("source_channel", lazy("Source channel"), False, _SOURCE),
        Target("website", lazy("Website"), False,
               ("web", "url", "site", "homepage", "웹사이트", "홈페이지", "ウェブサイト", "ホームページ", "сайт",
                "веб-сайт")),
        Target("notes", lazy("Notes"), False,
               ("note", "comment", "comments", "description", "메모", "비고", "備考", "メモ", "заметки", "примечание",
                "комментарий")),
        Target("owner_email", lazy("Owner (member email)"), False, _OWNER),
        Target("parent", lazy("Group (account name)"), False,
               ("group", "parent", "parent account", "그룹", "グループ", "親会社", "группа", "холдинг")),
    ),
    "contacts": (
        Target("full_name", lazy("Full name"), True,
               ("name", "full name", "contact", "contact name", "person", "이름", "성명", "담당자", "담당자명", "氏名",
                "名前", "担当者", "担当者名", "имя", "фио", "контакт", "контактное лицо")),
        Target("job_title", lazy("Job title"), False,
               ("title", "position", "직함", "직책", "직위", "役職", "肩書", "должность")),
        Target("email", lazy("Email"), False,
               ("e-mail", "mail", "email address", "이메일", "메일", "전자우편", "メール", "メールアドレス", "почта",
                "эл. почта", "электронная почта")),
        Target("phone", lazy("Phone"), False,
               ("telephone", "tel", "mobile", "cell", "phone number", "전화", "전화번호", "휴대폰", "연락처", "電話",
                "電話番号", "携帯", "携帯電話", "телефон", "тел", "мобильный")),
        Target("phone_region", lazy("Phone country (for national numbers)"), False,
               ("country", "region", "국가", "国", "страна")),
        Target("roles", lazy("Roles"), False, ("role", "역할", "役割", "роль", "роли")),
        Target("account", lazy("Account (name)"), False, _ACCOUNT_NAME),
        Target("owner_email", lazy("Owner (member email)"), False, _OWNER),
        Target("email_consent", lazy("Email consent"), False,
               ("email opt-in", "email opt in", "newsletter", "이메일 수신동의", "メール配信同意",
                "согласие на email")),
        Target("email_consent_source", lazy("Email consent source"), False, ("email consent from",)),
        Target("sms_consent", lazy("SMS consent"), False,
               ("sms opt-in", "sms opt in", "문자 수신동의", "sms 수신동의", "SMS配信同意", "согласие на sms")),
        Target("sms_consent_source", lazy("SMS consent source"), False, ("sms consent from",)),
    ),
    "deals": (
        Target("title", lazy("Title"), True,
               ("deal", "deal name", "deal title", "name", "opportunity", "subject", "거래명", "딜", "영업기회", "案件",
                "案件名", "商談", "商談名", "сделка", "название сделки", "название")),
        Target("account", lazy("Account (name)"), True, _ACCOUNT_NAME),
        Target("amount", lazy("Amount"), False, ("value", "deal value", "sum", "금액", "金額", "сумма")),
        Target("currency", lazy("Currency"), False, ("통화", "通貨", "валюта")),
        Target("probability", lazy("Probability, percent"), False, ("확률", "確度", "вероятность")),
        Target("expected_close_date", lazy("Expected close date"), False,
               ("close date", "expected close", "마감일", "예상 마감일", "完了予定日", "クローズ予定日",
                "дата закрытия")),
        Target("stage", lazy("Stage (name)"), False, ("단계", "ステージ", "フェーズ", "этап", "стадия")),
        Target("next_action", lazy("Next action"), False,
               ("next step", "다음 할 일", "次のアクション", "следующий шаг")),
        Target("next_action_due", lazy("Next action due"), False, ("due", "due date", "기한", "期限", "срок")),
        Target("source_channel", lazy("Source channel"), False, _SOURCE),
        Target("owner_email", lazy("Owner (member email)"), False, _OWNER),
    ),
}

_NOISE = re.compile(r"[\s_\-.:()/*#№]+")
TRUE = frozenset({"true", "yes", "y", "1", "on", "x", "да", "д", "예", "네", "o", "はい", "○", "有"})
FALSE = frozenset({"false", "no", "n", "0", "off", "нет", "н", "아니오", "아니요", "いいえ", "\u00d7", "無"})


def key(header: str) -> str:
    return _NOISE.sub("", header.casefold())


def custom_targets(definitions: Iterable[CustomField]) -> tuple[Target, ...]:
    """``cf.<key>`` targets for custom field definitions (a required field's column must be chosen)."""
    return tuple(Target(CUSTOM + d.key, d.label, d.required, (d.key,), custom=True) for d in definitions)


def targets(entity: str, custom: tuple[Target, ...] = ()) -> tuple[Target, ...]:
    return TARGETS[entity] + custom


def suggest(entity: str, headers: list[str], custom: tuple[Target, ...] = ()) -> dict[str, str | None]:
    """Each header's likely target (by name or synonym); a target is suggested for one column at most."""
    taken: set[str] = set()
    found: dict[str, str | None] = {}
    for header in headers:
        wanted = key(header)
        match = next((t.name for t in targets(entity, custom) if t.name not in taken
                      and wanted in {key(t.name), key(t.label), *(key(s) for s in t.synonyms)}), None)
        found[header] = match
        if match is not None:
            taken.add(match)
    return found


def checked_mapping(entity: str, headers: list[str], mapping: Any,
                    custom: tuple[Target, ...] = ()) -> dict[str, str]:
    """{header: target} without skipped columns; every problem reported at once (422)."""
    if not isinstance(mapping, dict):
        raise Invalid("Please correct the highlighted fields.", [FieldError("mapping", "an object of column: field")])
    names = {t.name for t in targets(entity, custom)}
    errors: list[FieldError] = []
    clean: dict[str, str] = {}
    for header, target in mapping.items():
        if header not in headers:
            errors.append(FieldError(f"mapping.{header}", "no such column in the file"))
        elif target in (None, ""):
            continue
        elif target not in names:
            errors.append(FieldError(f"mapping.{header}", "not a field you can import"))
        elif target in clean.values():
            errors.append(FieldError(f"mapping.{header}", "another column is already imported into this field"))
        else:
            clean[header] = str(target)
    for target in targets(entity, custom):
        if target.required and target.name not in clean.values():
            errors.append(FieldError(f"mapping.{target.name}", "required: choose the column that holds it"))
    if errors:
        raise Invalid("Please correct the column mapping.", errors, "import_mapping")
    return clean


# --- cell parsers (None: the cell is not understood) --------------------------------------------------------------

def flag(cell: str) -> bool | None:
    value = cell.strip().casefold()
    return True if value in TRUE else False if value in FALSE else None


def items(cell: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,;|]", cell) if part.strip()]


def iso_date(cell: str) -> str | None:
    """YYYY-MM-DD, YYYY/MM/DD, YYYY.MM.DD or DD.MM.YYYY as ISO; None if not one of those."""
    text = cell.strip().rstrip(".")
    found = re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})", text)
    if found:
        year, month, day = found.groups()
    else:
        found = re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", text)
        if not found:
            return None
        day, month, year = found.groups()
    try:
        return date(int(year), int(month), int(day)).isoformat()
    except ValueError:
        return None


def amount(cell: str) -> str:
    """Spaces and thousands separators dropped, a decimal comma read as a point ("1 200,50" → "1200.50")."""
    text = re.sub(r"[\s\u00a0\u202f']", "", cell)
    if "," in text and "." in text:
        text = text.replace(",", "") if text.rindex(",") < text.rindex(".") else text.replace(".", "").replace(",", ".")
    elif text.count(",") == 1 and len(text) - text.index(",") - 1 in (1, 2):
        text = text.replace(",", ".")
    else:
        text = text.replace(",", "")
    return text
