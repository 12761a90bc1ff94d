-- GET /api/v1/books/{id}, random ids.
dofile("common.lua")
request = book_get
