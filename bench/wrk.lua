-- The wrk script of bench/http_load.py.
-- Arguments after `--`: a path to GET on every request, or `list FILE PREFIX` to GET
-- PREFIX .. NUMBER for a random number of FILE (one per line) on each request, or
-- `batch FILE N` to POST N random numbers of FILE to /api/v1/tracking/batch, or
-- `revalidate FILE PREFIX` to GET PREFIX .. NUMBER with `If-None-Match: TAG` for a random line
-- `NUMBER TAG` of FILE (a cache revalidating what it holds: the answer is a 304).
-- Prints one line `BENCH {json}` with the counts and latencies bench/http_load.py reads.

local paths = {}
local numbers = {}
local batch = 0
local tags = {}

function init(args)
  if args[1] == "list" then
    for line in io.lines(args[2]) do
      paths[#paths + 1] = args[3] .. line
    end
  elseif args[1] == "revalidate" then
    for line in io.lines(args[2]) do
      local number, tag = line:match("^(%S+) (.+)$")
      paths[#paths + 1] = args[3] .. number
      tags[#tags + 1] = tag
    end
  elseif args[1] == "batch" then
    for line in io.lines(args[2]) do
      numbers[#numbers + 1] = line
    end
    batch = tonumber(args[3])
  else
    paths[1] = args[1]
  end
  math.randomseed(42)
end

function request()
  if batch > 0 then
    local chosen = {}
    for i = 1, batch do
      chosen[i] = '"' .. numbers[math.random(#numbers)] .. '"'
    end
    local body = '{"numbers": [' .. table.concat(chosen, ", ") .. ']}'
    return wrk.format("POST", "/api/v1/tracking/batch",
      {["Content-Type"] = "application/json"}, body)
  end
  local i = math.random(#paths)
  if #tags > 0 then
    return wrk.format("GET", paths[i], {["If-None-Match"] = tags[i]})
  end
  return wrk.format("GET", paths[i])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "bytes": %d, "non2xx": %d, ' ..
    '"socket_errors": %d, "p50_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, e.status,
    e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
