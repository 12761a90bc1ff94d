-- GET /api/v1/books?author=, a random author's first page.
dofile("common.lua")
request = book_by_author
