-- GET /api/v1/books?q=, a random number searched in titles and authors.
dofile("common.lua")
request = book_search
