-- GET /api/v1/books, the first page of 20 sorted by title.
dofile("common.lua")
request = book_first_page
