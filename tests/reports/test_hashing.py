"""report_hash: the fingerprint printed in the PDF footer (spec §5 JSON, canonical form)."""
import copy
import hashlib
import json

from desk.reports.hashing import canonical_json, report_hash


def test_hash_is_sha256_of_canonical_json(qmga_june):
    report, _ = qmga_june
    expected = hashlib.sha256(json.dumps(report, sort_keys=True, separators=(",", ":"),
                                         ensure_ascii=False).encode("utf-8")).hexdigest()
    assert report_hash(report) == expected
    assert len(expected) == 64


def test_hash_is_stable_across_key_order_and_copies(xjgat_july):
    report, _ = xjgat_july
    reordered = json.loads(json.dumps(dict(reversed(list(report.items())))))
    assert report_hash(reordered) == report_hash(copy.deepcopy(report)) == report_hash(report)


def test_hash_changes_when_a_figure_changes(qmga_june):
    report, _ = qmga_june
    before = report_hash(report)
    changed = copy.deepcopy(report)
    changed["totals"]["day_waivers"][3]["amount"] = "54.51"
    assert report_hash(changed) != before


def test_chinese_is_hashed_as_utf8_not_escapes():
    assert canonical_json({"customer": "且末县公安局"}) == '{"customer":"且末县公安局"}'.encode("utf-8")
