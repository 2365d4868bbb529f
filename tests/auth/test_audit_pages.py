"""The admin audit pages with the kit's cursors and stays a JSON array: the next page is in the
``Link`` header; a cursor no page gave is a 400 problem of type bad-cursor, a limit out of 1..1000 a 400."""

from __future__ import annotations

from auth_support import AuthService


async def test_the_audit_pages_through_the_link_header(auth: AuthService) -> None:
    async with auth.running() as browser:
        admin = await browser.admin_token()
        for n in range(5):
            created = await browser.admin(
                "POST", "/admin/users", admin, json={"username": f"star{n}", "roles": ["reader"]}
            )
            assert created.status_code == 201, created.text
        everything = await browser.admin("GET", "/admin/audit", admin, params={"target_type": "user"})
        pages: list[list[str]] = []
        url: str | None = "/admin/audit?target_type=user&limit=2"
        while url is not None:
            page = await browser.admin("GET", url, admin)
            assert page.status_code == 200, page.text
            pages.append([row["target_id"] for row in page.json()])
            link = page.headers.get("link")
            url = link[1 : link.index(">")] if link else None
        refused = [
            await browser.admin("GET", "/admin/audit", admin, params=params)
            for params in ({"cursor": "12"}, {"limit": 0}, {"limit": 1001})
        ]
    assert everything.headers.get("link") is None
    newest_first = [row["target_id"] for row in everything.json()]
    assert newest_first[:5] == [f"star{n}" for n in reversed(range(5))]  # then the first start's admin
    assert pages == [newest_first[k : k + 2] for k in range(0, len(newest_first), 2)]
    for response in refused:
        assert response.status_code == 400, response.text
    assert refused[0].json()["type"].endswith("/bad-cursor")
