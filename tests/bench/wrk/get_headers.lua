-- GET with the given request headers; count the answers by status.
--
--   wrk -t2 -c32 -d10s --latency -s get_headers.lua http://HOST:PORT/PATH -- "Name: value" ...
--
-- Prints the same last line as form_post.lua, which bench_oauth.parse_wrk reads:
--
--   statuses 2xx=N other=M

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  for _, header in ipairs(args) do
    local name, value = header:match("^([^:]+):%s*(.*)$")
    wrk.headers[name] = value
  end
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
