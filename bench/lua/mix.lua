-- 90% reads (a book by id, a page of books, a template) and 10% writes (a new book).
dofile("common.lua")

function request()
  local roll = math.random(100)
  if roll <= 30 then
    return book_get()
  elseif roll <= 60 then
    return book_list()
  elseif roll <= 90 then
    return template_get()
  end
  return book_post()
end
