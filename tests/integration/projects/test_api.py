"""The projects API under moto: what a client sees when it creates, reads, lists, changes, archives,
restores and deletes projects."""

from __future__ import annotations

import pytest

from functions.projects.handlers.api import app
from keel.store import OUTBOX_PREFIX
from keel.tenancy import Access
from tests.integration.projects.support import TENANT, apply_plan, call, create
from tests.support.moto import all_items

#: The least role of every route, as the issue states it. A route missing here fails the test.
EXPECTED_ACCESS = {
    ("POST", "/v1/projects"): Access.MEMBER,
    ("GET", "/v1/projects"): Access.MEMBER,
    ("GET", "/v1/projects/<project_id>"): Access.MEMBER,
    ("PATCH", "/v1/projects/<project_id>"): Access.MEMBER,
    ("POST", "/v1/projects/<project_id>/archive"): Access.ADMIN,
    ("POST", "/v1/projects/<project_id>/restore"): Access.ADMIN,
    ("DELETE", "/v1/projects/<project_id>"): Access.ADMIN,
    ("GET", "/v1/projects/<project_id>/export"): Access.MEMBER,
    ("POST", "/v1/projects/<project_id>/tasks"): Access.MEMBER,
    ("GET", "/v1/projects/<project_id>/tasks"): Access.MEMBER,
    ("PATCH", "/v1/projects/<project_id>/tasks/<task_id>"): Access.MEMBER,
    ("DELETE", "/v1/projects/<project_id>/tasks/<task_id>"): Access.MEMBER,
}


@pytest.fixture
def pro(table: str) -> str:
    apply_plan(TENANT, "pro")
    return table


def test_every_route_names_its_least_access() -> None:
    assert app.access_rules == EXPECTED_ACCESS


def test_a_member_creates_a_project_with_its_event_in_the_same_write(pro: str) -> None:
    # When a member creates one
    created = create("Website", description="The relaunch")
    # Then it is active at version 1, created by them, and reads back the same with its version as ETag
    assert (created["name"], created["status"], created["version"]) == ("Website", "active", 1)
    read = call("GET", f"/v1/projects/{created['id']}", role="member")
    assert (read.status, read.body, read.headers["ETag"]) == (200, created, '"1"')
    # And its event waits in the outbox with the business fact
    (outbox,) = [item for item in all_items(pro) if item["sk"].startswith(OUTBOX_PREFIX)]
    assert outbox["event_type"] == "projects.project.created.v1"
    assert '"project_id":"' + created["id"] in outbox["event"]


def test_names_are_unique_per_tenant_whatever_their_case(pro: str) -> None:
    create("Website")
    # When another project takes the same name in other letters' case
    answer = call("POST", "/v1/projects", {"name": "WEBSITE"}, role="member")
    # Then it is refused as a conflict
    assert (answer.status, answer.code) == (409, "name_taken")


def test_the_list_is_newest_first_and_filters_by_status(pro: str) -> None:
    first, second, third = create("Alpha"), create("Beta"), create("Gamma")
    call("POST", f"/v1/projects/{second['id']}/archive")
    # When a member lists them one at a time
    page = call("GET", "/v1/projects", query={"limit": "1"}, role="member").body
    rest = call("GET", "/v1/projects", query={"limit": "2", "cursor": page["cursor"]}, role="member").body
    # Then the newest comes first and the cursor leads on
    assert [p["id"] for p in page["items"] + rest["items"]] == [third["id"], second["id"], first["id"]]
    # And a status narrows it, still newest first
    active = call("GET", "/v1/projects", query={"status": "active"}, role="member").body
    assert [p["id"] for p in active["items"]] == [third["id"], first["id"]]


def test_q_finds_projects_by_a_case_insensitive_name_prefix_newest_first(pro: str) -> None:
    create("web shop"), create("Mobile app"), create("Website relaunch")
    # When a member searches for "WEB"
    found = call("GET", "/v1/projects", query={"q": "WEB"}, role="member").body
    # Then both web projects come back, newest first, and nothing else
    assert [p["name"] for p in found["items"]] == ["Website relaunch", "web shop"]
    archived = call("GET", "/v1/projects", query={"q": "web", "status": "archived"}, role="member").body
    assert archived["items"] == []


def test_q_with_a_status_searches_that_status_newest_first(pro: str) -> None:
    old, _, new = create("Web one"), create("Web two"), create("Web three")
    for project in (old, new):
        call("POST", f"/v1/projects/{project['id']}/archive")
    # When a member searches the archived projects for "web"
    found = call("GET", "/v1/projects", query={"q": "web", "status": "archived"}, role="member").body
    # Then the two archived ones come back, newest first
    assert [p["id"] for p in found["items"]] == [new["id"], old["id"]]


def test_q_reads_one_page_and_its_cursor_goes_on_from_the_last_project_read(pro: str) -> None:
    # Given, oldest first, a web project, another, and a web project
    first, _, last = create("Web one"), create("Mobile"), create("Web two")
    # When a member searches for "web" one project at a time, following the cursors
    pages, cursor = [], None
    while True:
        query = {"q": "web", "limit": "1"} | ({"cursor": cursor} if cursor else {})
        page = call("GET", "/v1/projects", query=query, role="member").body
        pages.append([p["id"] for p in page["items"]])
        if not (cursor := page["cursor"]):
            break
    # Then each page read one project and kept it only if it matched: the one between is an empty page
    assert pages[:3] == [[last["id"]], [], [first["id"]]]
    assert all(page == [] for page in pages[3:])


def test_a_patch_with_the_etag_read_applies_and_answers_the_new_one(pro: str) -> None:
    project = create("Website")
    # When a member renames it with the ETag they read
    answer = call("PATCH", f"/v1/projects/{project['id']}", {"name": "Site"}, headers={"If-Match": '"1"'})
    # Then it is version 2, its ETag says so, and the old name is free again
    assert (answer.status, answer.body["name"], answer.headers["ETag"]) == (200, "Site", '"2"')
    assert create("Website")["name"] == "Website"


def test_a_patch_with_a_stale_etag_is_412_and_changes_nothing(pro: str) -> None:
    project = create("Website")
    call("PATCH", f"/v1/projects/{project['id']}", {"description": "first"})
    # When someone patches with the ETag of version 1
    answer = call("PATCH", f"/v1/projects/{project['id']}", {"name": "Mine"}, headers={"If-Match": '"1"'})
    # Then it is refused, and the name is unchanged
    assert (answer.status, answer.code) == (412, "precondition_failed")
    assert call("GET", f"/v1/projects/{project['id']}").body["name"] == "Website"


def test_without_if_match_the_last_writer_wins(pro: str) -> None:
    project = create("Website")
    call("PATCH", f"/v1/projects/{project['id']}", {"description": "one"})
    # When a writer who never read it patches without If-Match
    answer = call("PATCH", f"/v1/projects/{project['id']}", {"description": "two"})
    # Then it applies over the other change
    assert (answer.status, answer.body["description"], answer.body["version"]) == (200, "two", 3)


def test_only_an_archived_project_is_deleted_and_then_it_is_gone(pro: str) -> None:
    project = create("Website")
    # When an admin deletes it while active, it is refused
    assert call("DELETE", f"/v1/projects/{project['id']}").code == "wrong_status"
    # When it is archived first, then it goes, and its name is free
    assert call("POST", f"/v1/projects/{project['id']}/archive").body["status"] == "archived"
    assert call("DELETE", f"/v1/projects/{project['id']}").status == 204
    assert call("GET", f"/v1/projects/{project['id']}").status == 404
    assert create("Website")["status"] == "active"


def test_a_member_cannot_archive_restore_or_delete(pro: str) -> None:
    project = create("Website")
    for method, path in (("POST", "/archive"), ("POST", "/restore"), ("DELETE", "")):
        answer = call(method, f"/v1/projects/{project['id']}{path}", role="member")
        assert (answer.status, answer.code) == (403, "forbidden")


@pytest.mark.parametrize(
    "body",
    [
        {"name": "x", "tenant_id": "ten_01JDBBBBBBBBBBBBBBBBBBBBBB"},
        {"name": ""},
        {"name": "x" * 101},
        {"name": "a\u202eb"},
        {"name": "x", "description": "d" * 2001},
        {"name": "x", "status": "archived"},
        {},
    ],
    ids=[
        "a smuggled tenant",
        "an empty name",
        "a long name",
        "a bidi override",
        "a long description",
        "a status",
        "no name",
    ],
)
def test_a_body_that_is_not_a_new_project_is_refused(pro: str, body: dict[str, object]) -> None:
    answer = call("POST", "/v1/projects", body, role="member")
    assert (answer.status, answer.code) == (422, "validation_error")


def test_an_if_match_that_is_no_etag_of_ours_matches_nothing(pro: str) -> None:
    project = create("Website")
    answer = call("PATCH", f"/v1/projects/{project['id']}", {"name": "x"}, headers={"If-Match": "1; drop"})
    assert (answer.status, answer.code) == (412, "precondition_failed")
    assert call("GET", f"/v1/projects/{project['id']}").body["name"] == "Website"
