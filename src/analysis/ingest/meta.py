"""Wave metadata: `WaveMeta` (``wave.yaml``), where it comes from (``--meta``, beside the
first file, or stored by an earlier import — never assumed), and the rule that a file which
declares itself synthetic is never imported as a real wave."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from analysis.ingest import quality
from analysis.ingest.messages import IngestError, Message, error_message
from analysis.ingest.read import sniff_format
from analysis.ingest.review import DEFAULT_REVIEW, ReviewPolicy

__all__ = ["WaveMeta", "synthetic_marker", "resolve_wave_meta"]


@dataclass(frozen=True)
class WaveMeta:
    """``wave.yaml``: what the wave is (stored beside the raw files, echoed in the manifest)."""

    instrument: str
    wave: str
    instrument_version: str
    synthetic: bool
    fieldwork_start: str | None = None
    fieldwork_end: str | None = None
    speeder_seconds: float | None = None
    source: str = ""
    straightliner_min_items: int = quality.DEFAULT_STRAIGHTLINER_MIN_ITEMS
    item_nonresponse_threshold: float = quality.DEFAULT_ITEM_NONRESPONSE_THRESHOLD
    #: Review states (Kobo ``_validation_status``, Central ``ReviewState``) quarantined or flagged.
    review: ReviewPolicy = DEFAULT_REVIEW

    _KEYS = ("instrument", "wave", "instrument_version", "synthetic", "fieldwork_start", "fieldwork_end",
             "speeder_seconds", "source", "straightliner_min_items", "item_nonresponse_threshold", "review")

    @classmethod
    def from_mapping(cls, data: Mapping, *, where: str = "wave.yaml") -> "WaveMeta":
        unknown = sorted(set(data) - set(cls._KEYS))
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {unknown}; allowed: {', '.join(cls._KEYS)}")
        missing = [k for k in ("instrument", "wave", "instrument_version") if data.get(k) in (None, "")]
        if missing:
            raise ValueError(f"{where}: missing {missing}")
        if "synthetic" not in data:
            raise ValueError(f"{where}: missing 'synthetic': write 'synthetic: false' for a real survey or 'synthetic: true' "
                             f"for demo or test data (it is never assumed)")
        synthetic = data["synthetic"]
        if not isinstance(synthetic, bool):
            raise ValueError(f"{where}: synthetic must be true or false, not {synthetic!r}")
        speeder = data.get("speeder_seconds")
        if speeder is not None and (isinstance(speeder, bool) or not isinstance(speeder, (int, float)) or speeder < 0):
            raise ValueError(f"{where}: speeder_seconds must be a number of seconds ≥ 0, not {speeder!r}")
        dates = {}
        for k in ("fieldwork_start", "fieldwork_end"):
            v = data.get(k)
            if v is not None:
                try:
                    dates[k] = dt.date.fromisoformat(str(v)).isoformat()
                except ValueError:
                    raise ValueError(f"{where}: {k} must be a date YYYY-MM-DD, not {v!r}") from None
        return cls(
            instrument=str(data["instrument"]), wave=str(data["wave"]), instrument_version=str(data["instrument_version"]),
            synthetic=synthetic, fieldwork_start=dates.get("fieldwork_start"), fieldwork_end=dates.get("fieldwork_end"),
            speeder_seconds=None if speeder is None else float(speeder), source=str(data.get("source") or ""),
            straightliner_min_items=int(data.get("straightliner_min_items", quality.DEFAULT_STRAIGHTLINER_MIN_ITEMS)),
            item_nonresponse_threshold=float(data.get("item_nonresponse_threshold", quality.DEFAULT_ITEM_NONRESPONSE_THRESHOLD)),
            review=(DEFAULT_REVIEW if data.get("review") is None
                    else ReviewPolicy.from_mapping(data["review"], where=where)),
        )

    def to_mapping(self) -> dict:
        out = {k: getattr(self, k) for k in self._KEYS if k != "review"}
        # The default policy is not written: wave.yaml files and input fingerprints of waves
        # imported before the policy existed stay the same.
        if self.review != DEFAULT_REVIEW:
            out["review"] = self.review.to_mapping()
        return out

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_mapping(), sort_keys=False, allow_unicode=True)


def _meta_from(source: Mapping | Path, where: str, file: str) -> WaveMeta:
    """`WaveMeta` from a mapping or a ``wave.yaml``; any problem is an `IngestError` (code ``wave_metadata``)."""
    try:
        data = source if isinstance(source, Mapping) else yaml.safe_load(source.read_text(encoding="utf-8"))
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: not a YAML mapping of keys to values")
        return WaveMeta.from_mapping(data, where=where)
    except (ValueError, yaml.YAMLError) as exc:
        raise IngestError([error_message("wave_metadata", file, str(exc), f"siêu dữ liệu đợt (wave.yaml) không hợp lệ: {exc}")]) from None


#: What a synthetic file says about itself: the name prefix and the words in its workbook
#: title/subject (or SPSS file label) that `analysis.synthetic.generate` writes.
SYNTHETIC_NAME_PREFIX = "SYNTHETIC_DEMO"
SYNTHETIC_WORDS = "SYNTHETIC DEMO"


def synthetic_marker(path: os.PathLike | str, *, name: str | None = None) -> str:
    """What in *path* declares it synthetic demo data ("" when nothing does).

    Looks at the file name (starts with ``SYNTHETIC_DEMO``, any case), an XLSX workbook's
    title and subject, and an SPSS file label (contain ``SYNTHETIC DEMO``, any case).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> (folder / "SYNTHETIC_DEMO_unit.csv").write_text("a,b")
    3
    >>> synthetic_marker(folder / "SYNTHETIC_DEMO_unit.csv")
    "the file name starts with 'SYNTHETIC_DEMO'"
    """
    return "; ".join(en for en, _ in _synthetic_findings(path, name=name))


def _synthetic_findings(path: os.PathLike | str, *, name: str | None = None) -> list[tuple[str, str]]:
    """What declares *path* synthetic, each as (English, Vietnamese); see `synthetic_marker`."""
    path = Path(path)
    name = name or path.name
    found = []
    if name.upper().startswith(SYNTHETIC_NAME_PREFIX):
        found.append((f"the file name starts with {SYNTHETIC_NAME_PREFIX!r}", f"tên tệp bắt đầu bằng {SYNTHETIC_NAME_PREFIX!r}"))
    with open(path, "rb") as fh:
        head = fh.read(4)
    words = SYNTHETIC_WORDS.casefold()
    if sniff_format(head) == "xlsx":
        import zipfile
        from xml.etree import ElementTree

        try:
            with zipfile.ZipFile(path) as zf:
                core = ElementTree.fromstring(zf.read("docProps/core.xml"))
        except (KeyError, zipfile.BadZipFile, ElementTree.ParseError):
            core = None
        dc = "{http://purl.org/dc/elements/1.1/}"
        for prop in ("title", "subject"):
            node = core.find(f"{dc}{prop}") if core is not None else None
            text = (node.text or "").strip() if node is not None else ""
            if words in text.casefold():
                found.append((f"the workbook {prop} is {text!r}",
                              f"{'tiêu đề' if prop == 'title' else 'chủ đề'} của sổ Excel là {text!r}"))
    elif sniff_format(head) == "sav":
        import pyreadstat

        try:
            label = (pyreadstat.read_sav(str(path), metadataonly=True)[1].file_label or "").strip()
        except Exception:  # noqa: BLE001 - an unreadable file is reported by read_file
            label = ""
        if words in label.casefold():
            found.append((f"the SPSS file label is {label!r}", f"nhãn tệp SPSS là {label!r}"))
    return found


def resolve_wave_meta(meta: "WaveMeta | Mapping | os.PathLike | str | None", instrument: str, wave: str,
                      sources: Sequence[Path], names: Sequence[str], stored_meta_path: Path) -> tuple["WaveMeta", list[Message]]:
    """The wave's metadata: given, beside the first file, or stored by an earlier import; never assumed.

    Returns the `WaveMeta` and the notes saying where it came from; raises `IngestError`
    (``wave_metadata``: none found, invalid, or for another wave; ``synthetic_file``: a file
    that declares itself synthetic in a wave said to be real).
    """
    from analysis import instruments

    beside_meta_path = sources[0].resolve().parent / "wave.yaml"
    meta_notes: list[Message] = []
    # Without --meta: the wave.yaml beside the first file, else the one stored by an earlier import.
    found = next(((path, en, vi) for path, en, vi in (
        (beside_meta_path, f"beside {names[0]}", f"cùng thư mục với {names[0]}"),
        (stored_meta_path, "stored by the earlier import", "lưu từ lần nhập trước")) if path.is_file()), None)
    if isinstance(meta, WaveMeta):
        wave_meta, meta_where = meta, "the wave metadata given"
    elif isinstance(meta, Mapping):
        wave_meta, meta_where = _meta_from(meta, "the wave metadata given", names[0]), "the wave metadata given"
    elif meta is not None:
        meta_where = str(meta)
        wave_meta = _meta_from(Path(meta), meta_where, names[0])
    elif found is not None:
        path, why_en, why_vi = found
        meta_where = str(path)
        wave_meta = _meta_from(path, meta_where, names[0])
        meta_notes.append(Message("info", "wave_metadata", f"wave metadata read from {meta_where} ({why_en}; no --meta given)",
                                  f"siêu dữ liệu đợt lấy từ {meta_where} ({why_vi}; không có --meta)"))
    else:
        version = instruments.load(instrument).version
        raise IngestError([error_message(
            "wave_metadata", names[0],
            f"no wave metadata: give --meta wave.yaml, or put a wave.yaml beside the file (in {beside_meta_path.parent}), "
            f"with instrument: {instrument}, wave: '{wave}', instrument_version: '{version}' and synthetic: false for a real "
            f"survey or synthetic: true for demo or test data — the import never assumes that data is real",
            f"chưa có siêu dữ liệu đợt: hãy dùng --meta wave.yaml, hoặc đặt tệp wave.yaml cạnh tệp dữ liệu (trong "
            f"{beside_meta_path.parent}), gồm instrument: {instrument}, wave: '{wave}', instrument_version: '{version}' và "
            f"synthetic: false nếu là khảo sát thật hoặc synthetic: true nếu là dữ liệu mẫu/thử nghiệm — chương trình không "
            f"bao giờ tự coi dữ liệu là thật")])
    if (wave_meta.instrument, wave_meta.wave) != (instrument, wave):
        raise IngestError([error_message(
            "wave_metadata", names[0],
            f"wave.yaml is for {wave_meta.instrument} {wave_meta.wave}, not {instrument} {wave} ({meta_where})",
            f"wave.yaml thuộc {wave_meta.instrument} {wave_meta.wave}, không phải {instrument} {wave} ({meta_where})")])
    if not wave_meta.synthetic:
        # A file that says it is synthetic is never imported as a real wave, whatever wave.yaml says.
        refused = [(n, "; ".join(en for en, _ in found), "; ".join(vi for _, vi in found))
                   for n, p in zip(names, sources) if (found := _synthetic_findings(p, name=n))]
        if refused:
            raise IngestError([error_message(
                "synthetic_file", n,
                f"the file declares itself synthetic demo data ({found_en}) but the wave metadata ({meta_where}) says "
                f"synthetic: false: a synthetic file is never imported as a real wave — for demo or test data set "
                f"'synthetic: true' in wave.yaml; for a real export remove the marker (rename the file, clear the workbook "
                f"title and subject) and import again",
                f"tệp tự ghi là dữ liệu mô phỏng ({found_vi}) nhưng siêu dữ liệu đợt ({meta_where}) ghi synthetic: false: "
                f"tệp mô phỏng không bao giờ được nhập như một đợt thật — nếu là dữ liệu mẫu hoặc thử nghiệm hãy ghi "
                f"'synthetic: true' trong wave.yaml; nếu là dữ liệu thật hãy bỏ dấu hiệu (đổi tên tệp, xóa tiêu đề và chủ "
                f"đề của sổ Excel) rồi nhập lại") for n, found_en, found_vi in refused])
    if wave_meta.fieldwork_start is None and stored_meta_path.is_file():
        # Fieldwork dates derived from the submissions on an earlier run are not a change.
        stored = WaveMeta.from_mapping(yaml.safe_load(stored_meta_path.read_text(encoding="utf-8")), where=str(stored_meta_path))
        undated = {**stored.to_mapping(), "fieldwork_start": None, "fieldwork_end": None}
        if undated == {**wave_meta.to_mapping(), "fieldwork_end": None}:
            wave_meta = stored
    return wave_meta, meta_notes
