-- GET /api/v1/books, a random page of 20 sorted by title.
dofile("common.lua")
request = book_list
