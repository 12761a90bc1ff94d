-- GET /health: every request hook, log line and metric of the service, but no handler work.
dofile("common.lua")

function request()
  return wrk.format("GET", "/health")
end
