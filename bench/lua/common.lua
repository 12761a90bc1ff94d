-- Shared by every scenario: arguments, per-thread random seeds, the request builders, and a
-- one-line JSON summary that bench/run.py reads. Arguments come after `--` as key=value pairs:
--   max_id=N pages=N ids=FILE cursors=FILE key=API_KEY bearer=TOKEN walk=1 threads=N
-- walk=1 visits ids in order instead of at random, thread k of N taking k, k+N, k+2N, ...:
-- the warm-up fills the cache with every id.

local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

local function parse(args)
  local options = {}
  for _, arg in ipairs(args) do
    local key, value = arg:match("^([%w_]+)=(.*)$")
    if key then
      options[key] = value
    end
  end
  return options
end

opts = {}
auth_headers = {}
local template_ids = {}
local cursors = {}
local cursor = 0

function init(args)
  opts = parse(args)
  local n = thread_number or 1
  math.randomseed(os.time() * 1000 + n * 7919)
  cursor = n - tonumber(opts.threads or 1)
  wrk.headers["Accept"] = "application/json"
  -- Book reads stay anonymous; template reads and writes carry the credential.
  auth_headers = {["Accept"] = "application/json"}
  if opts.bearer and opts.bearer ~= "" then
    auth_headers["Authorization"] = "Bearer " .. opts.bearer
  elseif opts.key and opts.key ~= "" then
    auth_headers["X-API-KEY"] = opts.key
  end
  if opts.ids then
    for line in io.lines(opts.ids) do
      template_ids[#template_ids + 1] = line
    end
  end
  if opts.cursors then
    for line in io.lines(opts.cursors) do
      cursors[#cursors + 1] = line
    end
  end
end

-- A number from 1 to n: at random, or the next one in order when walking.
local function pick(n)
  if opts.walk == "1" then
    cursor = cursor + tonumber(opts.threads or 1)
    return (cursor - 1) % n + 1
  end
  return math.random(n)
end

function book_get()
  return wrk.format("GET", "/api/v1/books/" .. pick(tonumber(opts.max_id)))
end

function book_list()
  local page = pick(tonumber(opts.pages))
  return wrk.format("GET", "/api/v1/books?page=" .. page .. "&per_page=20&sort=title")
end

function book_first_page()
  return wrk.format("GET", "/api/v1/books?per_page=20&sort=title")
end

-- A page deep in the list, reached by a cursor that links.next gave (random rows' cursors).
function book_deep_page()
  return wrk.format("GET", "/api/v1/books?per_page=20&sort=title&cursor=" .. cursors[pick(#cursors)])
end

function book_by_author()
  return wrk.format("GET", "/api/v1/books?per_page=20&author=Author%20" .. pick(2000))
end

-- q: a number in the titles' range with as many digits as the catalogue's largest id, so that it
-- matches one book (or two) in either catalogue: on a million books, a four-digit number is in
-- some 300 titles, and a search costs what it finds (bench/README.md).
function book_search()
  local max_id = tonumber(opts.max_id)
  local low = math.floor(max_id / 10)
  return wrk.format("GET", "/api/v1/books?per_page=20&q=" .. (low - 1 + pick(max_id - low)))
end

function template_get()
  return wrk.format("GET", "/api/v1/templates/" .. template_ids[pick(#template_ids)], auth_headers)
end

local posted = 0

function book_post()
  posted = posted + 1
  local body = string.format(
    '{"title": "Bench book %d-%d", "author": "Bench Author", "published_year": 2001}',
    thread_number or 1, posted)
  local headers = {["Content-Type"] = "application/json"}
  for name, value in pairs(auth_headers) do headers[name] = value end
  return wrk.format("POST", "/api/v1/books", headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, ' ..
    '"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect, e.read, e.write, e.status, e.timeout))
end
