-- POST /api/v1/books, a new book each time.
dofile("common.lua")
request = book_post
