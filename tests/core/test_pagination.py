"""Page links come from the validated query alone: known parameters, relative to the request."""

from __future__ import annotations

from typing import ClassVar
from urllib.parse import urljoin

from shelf.core.pagination import Listing, PageQuery, page_links, query_pairs


class TagQuery(PageQuery):
    """A list query with a repeatable and a boolean filter, as lists may grow to have."""

    sortable: ClassVar[tuple[str, ...]] = ("name",)

    tag: list[str] | None = None
    archived: bool = False


def test_query_pairs_keep_only_what_differs_from_the_defaults() -> None:
    query = TagQuery.model_validate(
        {"page": "1", "per_page": "20", "tag": ["a", "b c"], "archived": "true", "junk": "x"}
    )
    assert query_pairs(query) == [("tag", "a"), ("tag", "b c"), ("archived", "true")]
    assert query_pairs(TagQuery()) == []


def test_links_change_only_the_page_and_resolve_behind_any_prefix() -> None:
    query = TagQuery.model_validate({"page": "2", "per_page": "5", "sort": "-name", "tag": ["a"]})
    listing = Listing(rows=[], total=12, total_exact=True, page=2, next_cursor="c3")
    links = page_links(query, listing)
    assert links.next == "?cursor=c3&per_page=5&sort=-name&tag=a"
    assert links.prev == "?page=1&per_page=5&sort=-name&tag=a"
    assert links.last == "?page=3&per_page=5&sort=-name&tag=a"
    here = "https://api.example/shelf/api/v1/books?page=2&per_page=5&sort=-name&tag=a"
    assert urljoin(here, links.next) == "https://api.example/shelf/api/v1/books?" + links.next[1:]
