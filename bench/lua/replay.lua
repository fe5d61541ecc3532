-- Replays pre-built HTTP requests from a file, counts answers, optionally paces the sends.
--
-- [BENCH_RATE=R] wrk -t1 -cN -dS -s replay.lua URL -- REQUESTS_FILE [MARKER]
--   REQUESTS_FILE  one request per line: METHOD \t PATH \t HEADERS \t BODY, the headers as
--                  "Name: value" joined by \x1f; each thread cycles through all of them,
--                  starting at its own offset.
--   MARKER         a substring of the body to count (e.g. "accepted").
--   BENCH_RATE     (environment) requests per second for each thread; unset or 0: as fast as
--                  possible. Read when the script loads, because wrk decides whether to call
--                  delay() before init() runs. Sends follow an absolute schedule (1 ms timer
--                  resolution), so the mean rate holds; at most N requests are in flight.
-- A body holding the slot `_bench_event_id_` (16 characters) gets a fresh 16-character event id
-- there on every send (the run's start time, the thread and a counter, in hex): the tracker
-- sends a new eventId with every event, and replaying a fixed one would measure duplicates.
-- done() prints one line "BENCH_JSON {...}" with counts by status, marked answers, errors
-- and latency percentiles in microseconds (from the first byte written to the last read).

local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local clock = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, clock) -- CLOCK_MONOTONIC
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

local threads = {}
local next_id = 0

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local requests = {}
local EVENT_ID_SLOT = "_bench_event_id_"
local run_tag = math.floor(now_ms() * 1000) % 4294967296
local sent = 0
local index = 1
local next_due = nil
local marker = nil
local rate = tonumber(os.getenv("BENCH_RATE") or "0") or 0

if rate > 0 then
  local interval = 1000.0 / rate
  function delay()
    local t = now_ms()
    if next_due == nil then next_due = t end
    local wait = next_due - t
    next_due = next_due + interval
    if wait <= 0 then return 0 end
    return math.floor(wait)
  end
end
statuses = {}
marked = 0

local function split(text, sep)
  local parts = {}
  local start = 1
  while true do
    local i = string.find(text, sep, start, true)
    if not i then
      table.insert(parts, string.sub(text, start))
      return parts
    end
    table.insert(parts, string.sub(text, start, i - 1))
    start = i + #sep
  end
end

function init(args)
  local file = assert(io.open(args[1], "r"))
  for line in file:lines() do
    if #line > 0 then
      local f = split(line, "\t")
      local headers = {}
      if f[3] ~= nil and #f[3] > 0 then
        for _, h in ipairs(split(f[3], "\31")) do
          local name, value = string.match(h, "^([^:]+):%s*(.*)$")
          headers[name] = value
        end
      end
      local body = f[4]
      if body ~= nil and #body == 0 then body = nil end
      local raw = wrk.format(f[1], f[2], headers, body)
      local at = string.find(raw, EVENT_ID_SLOT, 1, true)
      if at then
        table.insert(requests, {string.sub(raw, 1, at - 1), string.sub(raw, at + #EVENT_ID_SLOT)})
      else
        table.insert(requests, raw)
      end
    end
  end
  file:close()
  assert(#requests > 0, "no requests in " .. args[1])
  index = ((id or 0) * 7919) % #requests + 1
  if args[2] ~= nil and #args[2] > 0 then marker = args[2] end
end

function request()
  local r = requests[index]
  index = index + 1
  if index > #requests then index = 1 end
  if type(r) == "table" then
    sent = sent + 1
    return r[1] .. string.format("%08x%02x%06x", run_tag, (id or 0) % 256, sent % 16777216) .. r[2]
  end
  return r
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if marker ~= nil and body ~= nil and string.find(body, marker, 1, true) then
    marked = marked + 1
  end
end

function done(summary, latency, requests_stats)
  local total = {}
  local total_marked = 0
  for _, thread in ipairs(threads) do
    for status, count in pairs(thread:get("statuses")) do
      total[status] = (total[status] or 0) + count
    end
    total_marked = total_marked + thread:get("marked")
  end
  local parts = {}
  for status, count in pairs(total) do
    table.insert(parts, string.format('"%d": %d', status, count))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "statuses": {%s}, ' ..
    '"marked": %d, "errors": {"connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d}, "latency_us": {"mean": %.1f, "stdev": %.1f, "max": %d, "p50": %d, ' ..
    '"p90": %d, "p95": %d, "p99": %d, "p999": %d}}\n',
    summary.requests, summary.duration, summary.bytes, table.concat(parts, ", "),
    total_marked, e.connect, e.read, e.write, e.status, e.timeout,
    latency.mean, latency.stdev, latency.max, latency:percentile(50), latency:percentile(90),
    latency:percentile(95), latency:percentile(99), latency:percentile(99.9)))
end
