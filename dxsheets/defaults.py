"""The masters a new workspace starts with: the report's 13 WGs verbatim and a realistic sample city.

`dxsheets init` writes these into `templates/` as workbooks the DX office then edits in Excel.
"""

from __future__ import annotations

from datetime import date

from .domain import Department, HouseItem, RoundSettings, WorkingGroup

# The WG activity list of the report (【WGの活動一覧】): name and 目指す未来, verbatim.
WORKING_GROUPS: tuple[WorkingGroup, ...] = (
    WorkingGroup(1, "行政手続オンライン化WG", "3ない窓口（書かない、待たない、行かない）"),
    WorkingGroup(2, "マイナンバーカード普及・活用WG", "DXのスタートライン（デジタル上で自己を証明）"),
    WorkingGroup(3, "財務・文書システムWG", "ペーパーレス、はんこレス"),
    WorkingGroup(4, "官民データ活用WG", "データ駆動型社会"),
    WorkingGroup(5, "コアネットワーク（外で働く）WG", "現場で仕事が完結する"),
    WorkingGroup(6, "業務システム（健康・福祉）WG", "住民のくらしを支える専門職がつながる"),
    WorkingGroup(7, "業務システム（予約システム）WG", "カウンターレス、帳簿レス、キャッシュレス、キーレス"),
    WorkingGroup(8, "BPR（RPA）推進WG", "自分の部下を自分で増やそう"),
    WorkingGroup(9, "ミライズ策定WG", "これからの時代に合った形に見直す"),
    WorkingGroup(10, "ABW（新議会棟）WG", "場所や時間に捉われない自由な働き方"),
    WorkingGroup(11, "窓口WG", "行政手続オンライン化後の窓口のあり方"),
    WorkingGroup(12, "地域社会のDX推進WG", "共助のあり方を再構築"),
    WorkingGroup(13, "デジタルデバイド解消WG", "誰も取り残されない"),
)

# 市役所の家: by default one item per WG vision, routed to that WG.
HOUSE: tuple[HouseItem, ...] = tuple(HouseItem(wg.number, wg.vision, wg.number) for wg in WORKING_GROUPS)

_ORGANISATION: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("未来創造部", ("未来政策課", "情報政策課", "広報課", "DX推進課")),
    ("総務部", ("総務課", "職員課", "行政管理課", "契約監理課")),
    ("財務部", ("財政課", "資産経営課", "市民税課", "資産税課", "収納課")),
    ("市民部", ("市民課", "市民協働課", "生活課", "国民健康保険課")),
    ("福祉部", ("社会福祉課", "障害福祉課", "介護保険課", "長寿包括ケア課")),
    ("健康部", ("保健総務課", "健康増進課", "保健予防課", "衛生検査課")),
    ("こども未来部", ("こども施策課", "子育て支援課", "こども支援課")),
    ("環境部", ("環境政策課", "ごみ政策課", "清掃施設課")),
    ("文化スポーツ観光部", ("文化国際課", "スポーツ課", "観光政策課")),
    ("産業経済部", ("産業政策課", "商工振興課", "企業誘致課")),
    ("農政部", ("農政課", "農林課", "農村整備課")),
    ("都市計画部", ("都市計画課", "建築指導課", "市街地整備課", "交通政策課")),
    ("建設部", ("建設課", "道路管理課", "道路建設課", "河川課")),
    ("議会事務局", ("議会総務課", "議事課")),
    ("教育委員会事務局", ("教育総務課", "学校施設課", "学校教育課", "生涯学習課", "青少年課")),
    ("上下水道局", ("経営企画課", "水道整備課", "下水道整備課")),
    ("消防局", ("消防総務課", "予防課", "警防課")),
)

_SURNAMES = (
    "佐藤",
    "鈴木",
    "高橋",
    "田中",
    "伊藤",
    "渡辺",
    "山本",
    "中村",
    "小林",
    "加藤",
    "吉田",
    "山田",
    "斎藤",
)
_GIVEN = (
    "健一",
    "美咲",
    "翔太",
    "陽子",
    "大輔",
    "由美",
    "拓也",
    "恵",
    "誠",
    "さくら",
    "直樹",
    "久美子",
    "亮",
)


def _departments() -> tuple[Department, ...]:
    out: list[Department] = []
    n = 0
    for b, (bu, kas) in enumerate(_ORGANISATION, start=1):
        for k, ka in enumerate(kas, start=1):
            code = f"{b:02d}{k:02d}"
            promoter = f"{_SURNAMES[n % len(_SURNAMES)]} {_GIVEN[(n * 5) % len(_GIVEN)]}"
            out.append(Department(code, bu, ka, promoter, f"dx-{code}@city.example.lg.jp"))
            n += 1
    # A division merged away last year: kept in the master for history, not surveyed.
    out.append(Department("0299", "総務部", "旧情報管理課", "", "", active=False))
    return tuple(out)


DEPARTMENTS: tuple[Department, ...] = _departments()

# 業務一覧 for a few divisions: offered as a dropdown for Q2 業務名 (free text still allowed).
WORKLISTS: dict[str, tuple[str, ...]] = {
    "0401": (
        "住民票の写し等の交付",
        "転入・転出・転居の届出",
        "印鑑登録",
        "マイナンバーカードの交付",
        "戸籍の届出",
    ),
    "0404": ("国民健康保険の加入・脱退", "保険税の納付相談", "高額療養費の支給", "保険証の再交付"),
    "0303": ("市民税の申告受付", "課税証明書の交付", "特別徴収の事務"),
    "0702": ("保育所の入所申込", "児童手当の認定", "子育て支援センターの予約"),
    "0902": ("体育施設の予約受付", "スポーツ教室の申込", "施設使用料の収納"),
}

ROUND = RoundSettings(
    round_id="R8-1",
    year_label="令和8年度",
    start=date(2026, 11, 2),
    deadline=date(2026, 12, 18),
    contact="未来創造部 DX推進課（内線 1234）",
    sender="dx-suishin@city.example.lg.jp",
)
