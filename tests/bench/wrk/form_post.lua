-- POST a urlencoded form with a Basic Authorization header; count the answers by status.
--
--   wrk -t2 -c32 -d15s --latency -s form_post.lua http://HOST:PORT/PATH -- BODY CREDENTIALS
--
-- BODY is the form body (e.g. "grant_type=client_credentials&scope=read"), CREDENTIALS the
-- base64 of "client_id:client_secret". wrk's own "Non-2xx or 3xx responses" line only counts
-- statuses >= 400, so done() prints one exact line that bench_oauth.py parses:
--
--   statuses 2xx=N other=M

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  wrk.method = "POST"
  wrk.body = args[1]
  wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
  wrk.headers["Authorization"] = "Basic " .. args[2]
  ok, other = 0, 0  -- per-thread globals, read back by done() through thread:get()
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    ok = ok + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local total_ok, total_other = 0, 0
  for _, thread in ipairs(threads) do
    total_ok = total_ok + thread:get("ok")
    total_other = total_other + thread:get("other")
  end
  io.write(string.format("statuses 2xx=%d other=%d\n", total_ok, total_other))
end
