-- GET /api/v1/books by cursor: random pages deep in the list sorted by title.
dofile("common.lua")
request = book_deep_page
