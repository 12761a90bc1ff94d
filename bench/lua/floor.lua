-- GET / on the floor app: the constant JSON body.
dofile("common.lua")

function request()
  return wrk.format("GET", "/")
end
