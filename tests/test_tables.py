"""Table 1 of 祝建华、项丽亚 (2021) 《城市社会救助服务高质量建设的问题与实现路径》 shape, read from the indicator results."""
import pytest

import evalkit
from evalkit.results.tables import supply_and_need_table


def test_table_one_on_the_tiny_package(tiny):
    # min_cell 0: no suppression (at 1, county B's accessibility, 1 of 1, is hidden, and A's with it)
    res = evalkit.compute(evalkit.load(tiny), family="access", min_cell=0)
    table = supply_and_need_table(res, region="A", period="2024Q1")
    # the counts are households (the unit of analysis of both rates), and say so
    assert list(table.columns) == ["服务类型", "需求户数", "可及户数", "可得户数", "可及率", "可得率"]
    care = table.set_index("服务类型").loc["照料护理"]
    assert (care["需求户数"], care["可及户数"], care["可得户数"]) == (3, 2, 2)
    assert care["可及率"] == pytest.approx(2 / 3) and care["可得率"] == pytest.approx(2 / 3)
    english = supply_and_need_table(res, region="A", period="2024Q1", lang="en")
    assert "Accessibility rate" in english.columns and "care" in set(english["Service type"])
    assert list(english.columns[1:4]) == ["Households in need", "Households with supply nearby",
                                          "Households that received it"]
    with pytest.raises(ValueError, match="no results"):
        supply_and_need_table(res, region="A", period="1999Q1")


def test_small_cells_blank_in_table_one(tiny):
    res = evalkit.compute(evalkit.load(tiny), family="access")  # min_cell 10: every cell is small
    table = supply_and_need_table(res, region="A", period="2024Q1")
    assert table["可及率"].isna().all() and table["可及户数"].isna().all()
