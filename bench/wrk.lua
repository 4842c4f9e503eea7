-- The wrk script of bench/http_load.py.
-- Arguments after `--`: a path to GET on every request, or `list FILE PREFIX` to GET
-- PREFIX .. NUMBER for a random number of FILE (one per line) on each request.
-- Prints one line `BENCH {json}` with the counts and latencies bench/http_load.py reads.

local paths = {}

function init(args)
  if args[1] == "list" then
    for line in io.lines(args[2]) do
      paths[#paths + 1] = args[3] .. line
    end
  else
    paths[1] = args[1]
  end
  math.randomseed(42)
end

function request()
  return wrk.format("GET", paths[math.random(#paths)])
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
