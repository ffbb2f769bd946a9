"""Free-text answers for the synthetic waves: varied Vietnamese sentences, a few with PII.

Sentences are assembled from parts (opening, subject, suggestion, closing) drawn with numpy, so
thousands of comments are built without a Python loop over respondents, and each combination
reads as a plausible answer to "what should the organization change?". The parts avoid
capitalised word runs (so only the planted comments look like a person's name to
`analysis.disclosure.screen_comments`). Planted personal data — a name after a title, a mobile
number, an e-mail address — are invented, never real people.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd

__all__ = ["PII_KINDS", "member_comments", "unit_comments", "add_pii"]

#: Kinds of personal data planted in comments (as `screen_comments` names its reasons).
PII_KINDS: tuple[str, ...] = ("name", "phone", "email")

_OPEN = np.array([
    "", "Theo tôi, ", "Tôi đề nghị ", "Mong tổ chức sẽ ", "Kiến nghị ", "Đề xuất ", "Cần ", "Nên ",
    "Tôi mong tổ chức ", "Ý kiến của tôi là ",
])
_SUBJECT = np.array([
    "đổi mới hình thức sinh hoạt cho sinh động hơn",
    "giảm bớt các cuộc họp mang tính hình thức",
    "tăng cường tổ chức hoạt động trực tuyến để tiết kiệm thời gian",
    "quan tâm hơn đến đời sống của đoàn viên có hoàn cảnh khó khăn",
    "tổ chức thêm các hoạt động thể thao, văn nghệ giữa các cơ quan",
    "gắn nội dung sinh hoạt với nhiệm vụ chuyên môn của cơ quan",
    "công khai minh bạch việc bình xét thi đua, khen thưởng",
    "tạo điều kiện để đoàn viên được góp ý với lãnh đạo cơ quan",
    "nâng cao chất lượng tập huấn cho cán bộ công đoàn cơ sở",
    "hỗ trợ kinh phí cho các hoạt động tình nguyện",
    "xây dựng phần mềm quản lý hội viên dễ sử dụng hơn",
    "kịp thời cung cấp thông tin chính thống để phản bác tin xuyên tạc",
    "phát huy vai trò của nhóm cốt cán trong tuyên truyền",
    "quan tâm bồi dưỡng, giới thiệu đoàn viên ưu tú để kết nạp vào Đảng",
    "biểu dương kịp thời những tấm gương điển hình",
    "lắng nghe tâm tư, nguyện vọng của người lao động",
    "cải thiện điều kiện làm việc và trang thiết bị",
    "tăng cường phối hợp giữa ba tổ chức trong cơ quan",
    "rút ngắn thời gian các buổi sinh hoạt định kỳ",
    "giao lưu, học hỏi kinh nghiệm với các đơn vị bạn",
])
_TAIL = np.array([
    ".", ".", ".", " trong thời gian tới.", " nhiều hơn nữa.", ", tránh làm theo phong trào.",
    ", qua đó thu hút người trẻ tham gia.", ", nhất là vào cuối năm.", "; hiện nay còn chưa thường xuyên.",
    ". Xin cảm ơn!",
])
_EXTRA = np.array([
    "", "", "", "", " Hoạt động năm nay đã có nhiều tiến bộ.", " Tôi thấy Đề án đã bắt đầu có hiệu quả.",
    " Việc triển khai Đề án còn chậm ở một số nơi.", " Nhiều đoàn viên chưa nắm được nội dung Đề án.",
    " Các cuộc họp trực tuyến giúp tiết kiệm thời gian.", " Cần có cơ chế kiểm tra, giám sát thường xuyên hơn.",
])
_UNIT = np.array([
    "Kinh phí hoạt động còn hạn hẹp.",
    "Cán bộ kiêm nhiệm nên thời gian dành cho hoạt động còn ít.",
    "Phần mềm quản lý đoàn viên chưa được kết nối giữa các cấp.",
    "Đề nghị tổ chức tập huấn nghiệp vụ cho ủy viên ban chấp hành.",
    "Đề nghị cấp trên hướng dẫn cụ thể việc xây dựng quy chế phối hợp.",
    "Đơn vị có nhiều đoàn viên làm việc ở xa nên khó tập trung sinh hoạt.",
    "Cần bổ sung tiêu chí đánh giá, xếp loại tổ chức cơ sở rõ ràng hơn.",
    "Việc cập nhật dữ liệu đoàn viên lên hệ thống còn chậm.",
])
# Invented names (title + full name), numbers and addresses for the planted PII comments.
_NAMES = np.array(["đồng chí Nguyễn Văn Hùng", "chị Trần Thị Mai Anh", "anh Lê Đình Tuấn", "đồng chí Phạm Thị Hồng",
                   "anh Hoàng Văn Nam", "chị Đặng Thu Trang"])
_PHONES = np.array(["0912 345 678", "0983.456.721", "0868 112 334", "0356 778 902"])
_EMAILS = np.array(["hungnv.demo@gmail.com", "maianh.tt.demo@yahoo.com", "tuan.le.demo@nghean.gov.vn",
                    "thuhong.demo@gmail.com"])
_PII_TEMPLATES = {
    "name": ("Đề nghị xem xét thái độ làm việc của {x} ở bộ phận một cửa.",
             "Tôi đề nghị biểu dương {x} vì đã nhiệt tình hỗ trợ đoàn viên."),
    "phone": ("Ai cần hỗ trợ phần mềm xin liên hệ số {x} để được hướng dẫn.",
              "Có vấn đề gì xin gọi cho tôi theo số {x}."),
    "email": ("Tôi đã gửi góp ý chi tiết qua địa chỉ {x}, mong được phản hồi.",
              "Xin phản hồi ý kiến qua thư điện tử {x}."),
}


def _nfc(values: pd.Series) -> pd.Series:
    return values.map(lambda s: unicodedata.normalize("NFC", s) if isinstance(s, str) else s)


def member_comments(rng: np.random.Generator, n: int) -> pd.Series:
    """*n* comments (object strings, NFC), drawn independently from the sentence parts."""
    opening = _OPEN[rng.integers(0, len(_OPEN), n)]
    subject = _SUBJECT[rng.integers(0, len(_SUBJECT), n)]
    tail = _TAIL[rng.integers(0, len(_TAIL), n)]
    extra = _EXTRA[rng.integers(0, len(_EXTRA), n)]
    text = pd.Series(opening, dtype=object) + pd.Series(subject, dtype=object) + pd.Series(tail, dtype=object) \
        + pd.Series(extra, dtype=object)
    # Capitalise the first letter (the opening may be empty); never any other word.
    text = text.str[:1].str.upper() + text.str[1:]
    return _nfc(text)


def unit_comments(rng: np.random.Generator, n: int) -> pd.Series:
    """*n* short comments of an executive committee on difficulties (one or two sentences)."""
    first = _UNIT[rng.integers(0, len(_UNIT), n)]
    second = np.where(rng.random(n) < 0.4, " " + _UNIT[rng.integers(0, len(_UNIT), n)], "")
    same = second == " " + first
    second = np.where(same, "", second)
    return _nfc(pd.Series(first, dtype=object) + pd.Series(second, dtype=object))


def add_pii(rng: np.random.Generator, kinds: np.ndarray) -> pd.Series:
    """One comment per entry of *kinds* (``name``/``phone``/``email``) carrying that kind of PII."""
    out = pd.Series("", index=range(len(kinds)), dtype=object)
    for kind, pool in (("name", _NAMES), ("phone", _PHONES), ("email", _EMAILS)):
        idx = np.flatnonzero(kinds == kind)
        if not len(idx):
            continue
        templates = np.array(_PII_TEMPLATES[kind])
        chosen = templates[rng.integers(0, len(templates), len(idx))]
        values = pool[rng.integers(0, len(pool), len(idx))]
        out.iloc[idx] = [t.format(x=v) for t, v in zip(chosen, values)]  # a handful per wave
    return _nfc(out)
