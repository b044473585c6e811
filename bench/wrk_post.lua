-- wrk script for bench/throughput.py: POST a policy-approved handoff (or the
-- baseline's body) with a fresh nonce each time, or GET; print one JSON line.
--   wrk ... -s bench/wrk_post.lua URL -- METHOD TOKEN
local threads = {}

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  method = args[1] or "GET"
  token = args[2] or ""
  sent = 0
  prefix = string.format("wrk%d-%d-%d-", id, os.time(), math.random(1, 1000000000))
  headers = { ["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json" }
end

function request()
  if method == "GET" then
    return wrk.format("GET", nil, nil, nil)
  end
  sent = sent + 1
  local body = string.format(
    '{"action":"test.run","target":"unit tests","title":"Run the unit tests",'
      .. '"agent_session_id":"bench","nonce":"%s%d"}',
    prefix, sent)
  return wrk.format("POST", nil, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK {"requests": %d, "duration_us": %d, "socket_errors": %d, "status_errors": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout, e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
