"""Paging with Prefer: odata.maxpagesize and @odata.nextLink (wire-facts E9; research notes 2)."""

from __future__ import annotations

from urllib.parse import unquote

from sqlalchemy import text

from tests.support.bulk import fill_deliveries
from tests.support.urls import DELIVERIES, ROOT


def follow(emulator, headers: dict[str, str], link: str):
    assert link.startswith(ROOT)
    return emulator.client.get("/api/data/v9.2/" + link.removeprefix(ROOT), headers=headers)


def pages_of(emulator, headers: dict[str, str], url: str) -> list[str]:
    """Every row's id, following @odata.nextLink from `url` to the last page."""
    found: list[str] = []
    response = emulator.client.get(url, headers=headers)
    while True:
        body = response.json()
        found += [row["msdyn_proactive_deliveryid"] for row in body["value"]]
        if "@odata.nextLink" not in body:
            return found
        response = follow(emulator, headers, body["@odata.nextLink"])


def all_ids(emulator) -> set[str]:
    with emulator.database.engine.connect() as connection:
        rows = connection.execute(text("SELECT msdyn_delivery_id FROM msdyn_proactive_delivery")).all()
    return {row[0] for row in rows}


def test_twelve_thousand_rows_page_in_three_with_nothing_lost_or_repeated_while_inserts_continue(emulator, as_user):
    fill_deliveries(emulator.database.engine, 12_000)
    before = all_ids(emulator)
    headers = as_user(Prefer="odata.maxpagesize=5000")

    pages = []
    response = emulator.client.get(f"{DELIVERIES}?$select=msdyn_delivery_id", headers=headers)
    while True:
        assert response.status_code == 200, response.text
        assert response.headers.get_list("preference-applied") == ["odata.maxpagesize=5000"]
        body = response.json()
        pages.append([row["msdyn_delivery_id"] for row in body["value"]])
        if "@odata.nextLink" not in body:
            break
        assert list(body)[-1] == "@odata.nextLink"  # last in the body, after value
        fill_deliveries(emulator.database.engine, 700, offset=20_000 + 1000 * len(pages))  # inserts continue
        response = follow(emulator, headers, body["@odata.nextLink"])

    seen = [delivery for page in pages for delivery in page]
    assert len(pages) == 3
    assert [len(page) for page in pages[:2]] == [5000, 5000]
    assert len(seen) == len(set(seen))  # nothing repeated
    assert before <= set(seen)  # nothing that existed when paging began is lost
    assert set(seen) <= all_ids(emulator)


def test_the_next_link_keeps_the_query_and_carries_a_dataverse_paging_cookie(emulator, as_user):
    fill_deliveries(emulator.database.engine, 5)
    headers = as_user(Prefer="odata.maxpagesize=2")

    body = emulator.client.get(
        f"{DELIVERIES}?$select=msdyn_status&$filter=msdyn_channel eq 'Voice'&$count=true", headers=headers
    ).json()

    link = body["@odata.nextLink"]
    assert body["@odata.count"] == 5
    assert link.startswith(f"{ROOT}msdyn_proactive_deliveries?$select=msdyn_status&$filter=")
    assert (
        "&$count=true&$skiptoken=%3Ccookie%20pagenumber=%222%22%20pagingcookie=%22%253ccookie%2520page%253d%25221%2522%253e%253cmsdyn_proactive_deliveryid%2520last%253d%2522%257b"
        in link
    )
    cookie = unquote(unquote(unquote(link.split("$skiptoken=")[1])))
    assert cookie.endswith('" istracking="False" />')
    second = follow(emulator, headers, link).json()
    assert "pagenumber=%223%22" in second["@odata.nextLink"]
    assert "page%253d%25222%2522" in second["@odata.nextLink"]
    third = follow(emulator, headers, second["@odata.nextLink"]).json()
    assert "@odata.nextLink" not in third
    assert len(body["value"]) + len(second["value"]) + len(third["value"]) == 5


def test_paging_in_any_order_with_nulls_and_ties_gives_the_unpaged_order(emulator, as_user):
    fill_deliveries(emulator.database.engine, 60)
    with emulator.database.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE msdyn_proactive_delivery SET msdyn_result = CASE emulator_sequence % 3 "
                "WHEN 0 THEN NULL WHEN 1 THEN 'NoAnswer' ELSE 'liveanswer' END, "
                "msdyn_end_date = CASE WHEN emulator_sequence % 2 = 0 THEN createdon ELSE NULL END"
            )
        )
    for orderby in (
        "msdyn_result",
        "msdyn_result desc",
        "msdyn_result desc,msdyn_status",
        "msdyn_to_address desc",
        "msdyn_end_date desc,msdyn_result",
        "msdyn_end_date,msdyn_result desc",
    ):
        query = f"{DELIVERIES}?$select=msdyn_result&$orderby={orderby}"
        whole = pages_of(emulator, as_user(), query)
        paged = pages_of(emulator, as_user(Prefer="odata.maxpagesize=7"), query)
        assert paged == whole, orderby
        assert len(whole) == 60


def test_nulls_sort_first_ascending_and_strings_without_regard_to_case(emulator, as_user):
    fill_deliveries(emulator.database.engine, 6)
    with emulator.database.engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE msdyn_proactive_delivery SET msdyn_result = CASE emulator_sequence "
                "WHEN 0 THEN 'b' WHEN 1 THEN 'A' WHEN 2 THEN NULL WHEN 3 THEN 'C' WHEN 4 THEN 'a' ELSE 'B' END"
            )
        )

    rows = emulator.client.get(f"{DELIVERIES}?$select=msdyn_result&$orderby=msdyn_result", headers=as_user()).json()

    results = [row["msdyn_result"] for row in rows["value"]]
    assert results[0] is None
    assert [value.lower() for value in results[1:]] == ["a", "a", "b", "b", "c"]


def test_a_skiptoken_from_another_order_is_refused(emulator, as_user):
    fill_deliveries(emulator.database.engine, 3)
    link = emulator.client.get(
        f"{DELIVERIES}?$select=msdyn_status", headers=as_user(Prefer="odata.maxpagesize=1")
    ).json()["@odata.nextLink"]
    token = link.split("$skiptoken=")[1]

    response = emulator.client.get(
        f"{DELIVERIES}?$select=msdyn_status&$orderby=createdon&$skiptoken={token}", headers=as_user()
    )

    assert response.status_code == 400
    assert response.json()["error"]["code"] == "0x80060888"
