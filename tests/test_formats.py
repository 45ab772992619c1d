"""The same package as Parquet, CSV (UTF-8 / GBK, English / Chinese headers) and Excel gives the same indicators."""
import json

import pandas as pd
import pytest
from conftest import ASSISTANCE, HOUSEHOLDS, NEEDS, REGIONS

import evalkit
from evalkit.data.schema import TABLES
from evalkit.data.synth import generate


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    out = tmp_path_factory.mktemp("fmt") / "parquet"
    generate(out, households=1500, regions=2, periods=2, seed=3)
    return out


def as_chinese(frame: pd.DataFrame, table: str) -> pd.DataFrame:
    names = {c.name: c.aliases[0] for c in TABLES[table].columns if c.aliases}
    return frame.rename(columns=names)


def reference(pkg_dir):
    return evalkit.compute(evalkit.load(pkg_dir)).table


def test_gbk_csv_with_chinese_headers_equals_parquet(small, tmp_path):
    out = tmp_path / "gbk"
    out.mkdir()
    for f in small.glob("*.parquet"):
        frame = as_chinese(pd.read_parquet(f), f.stem)
        frame.to_csv(out / f"{f.stem}.csv", index=False, encoding="gb18030")
    meta = json.loads((small / "datapackage.json").read_text())
    (out / "datapackage.json").write_text(json.dumps({"name": meta["name"], "frequency": meta["frequency"]}))
    pd.testing.assert_frame_equal(reference(out), reference(small))


def test_excel_and_utf8_csv_equal_parquet(small, tmp_path):
    out = tmp_path / "mixed"
    out.mkdir()
    for f in small.glob("*.parquet"):
        frame = pd.read_parquet(f)
        if f.stem in ("regions", "households", "needs"):
            frame.to_excel(out / f"{f.stem}.xlsx", index=False)
        else:
            frame.to_csv(out / f"{f.stem}.csv", index=False, encoding="utf-8-sig")
    (out / "datapackage.json").write_text(json.dumps({"frequency": "quarter"}))
    pd.testing.assert_frame_equal(reference(out), reference(small))


def test_chinese_values_and_file_names(tmp_path):
    d = tmp_path / "zh"
    d.mkdir()
    REGIONS.to_csv(d / "地区.csv", index=False, encoding="gbk")
    HOUSEHOLDS.to_csv(d / "家庭.csv", index=False, encoding="gbk")
    NEEDS.to_csv(d / "需求.csv", index=False, encoding="gbk")
    ASSISTANCE.to_csv(d / "帮扶记录.csv", index=False, encoding="gbk")
    pkg = evalkit.load(d, frequency="quarter")
    hh = pkg.tables["households"].execute().set_index("household_id")
    assert hh.loc["h3", "hukou"] == "migrant" and hh.loc["h1", "status"] == "dibao"
    assert hh.loc["h3", "income_pc"] == pytest.approx(500.5)
    needs = pkg.tables["needs"].execute().set_index("need_id")
    assert needs.loc["n3", "service_type"] == "care"
    assert pd.Timestamp(needs.loc["n3", "identified_on"]) == pd.Timestamp("2024-02-03")  # 2024年2月3日


def test_two_files_for_one_table_is_an_error(tiny):
    (tiny / "needs.parquet").write_bytes(b"")
    with pytest.raises(evalkit.PackageError, match="two files for table needs"):
        evalkit.load(tiny)
