-- The wrk script of bench/load.py.
-- Arguments after `--`: `list FILE PREFIX`: GET PREFIX .. NUMBER for a random number of FILE
-- (one per line) on each request, like bench/wrk.lua. Unlike bench/wrk.lua it counts the
-- answers by HTTP status in every thread (wrk itself only counts "non-2xx", which cannot tell
-- an expected 404 for an unknown number or a 429 of the rate limiter from a 500), and prints
-- one line `LOAD {json}` with the counts, the socket errors and the latencies.

local threads = {}
local paths = {}
statuses = {}

function setup(thread)
  threads[#threads + 1] = thread
  thread:set("thread_id", #threads)
end

function init(args)
  if args[1] ~= "list" then
    error("usage: wrk ... -s bench/load.lua URL -- list FILE PREFIX")
  end
  for line in io.lines(args[2]) do
    paths[#paths + 1] = args[3] .. line
  end
  math.randomseed(42 + (thread_id or 0))
end

function request()
  return wrk.format("GET", paths[math.random(#paths)])
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    local counts = thread:get("statuses")
    for status, n in pairs(counts) do
      totals[status] = (totals[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(totals) do
    parts[#parts + 1] = string.format('"%d": %d', status, n)
  end
  local e = summary.errors
  io.write(string.format(
    'LOAD {"requests": %d, "duration_us": %d, "bytes": %d, "non2xx": %d, ' ..
    '"connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f, ' ..
    '"statuses": {%s}}\n',
    summary.requests, summary.duration, summary.bytes, e.status,
    e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, table.concat(parts, ", ")))
end
