-- wrk script for bench/run.sh: POST /webhook with pre-signed bodies, cycling through them.
-- BODIES_FILE (env) holds lines `<x-line-signature>\t<raw body>` from bench/make_bodies.py.
-- Each wrk thread takes every Nth body (N = number of threads), so no two requests of a run
-- carry the same webhookEventId until the file wraps; done() reports whether it did.

local threads = {}
local counter = 0

function setup(thread)
   counter = counter + 1
   thread:set("tid", counter)
   table.insert(threads, thread)
end

function init(args)
   local path = os.getenv("BODIES_FILE") or error("BODIES_FILE is not set")
   local nthreads = tonumber(os.getenv("WRK_THREADS") or "1")
   local host = wrk.host .. ":" .. wrk.port
   requests = {}
   local i = 0
   -- What wrk.format would write (same headers, fixed order), concatenated directly: a third
   -- quicker to load 400 000 bodies.
   local head = "POST /webhook HTTP/1.1\r\nHost: " .. host ..
      "\r\nContent-Type: application/json; charset=utf-8\r\nUser-Agent: LineBotWebhook/2.0\r\nx-line-signature: "
   for line in io.lines(path) do
      if i % nthreads == tid - 1 then
         local tab = string.find(line, "\t", 1, true)
         local body = string.sub(line, tab + 1)
         requests[#requests + 1] = head .. string.sub(line, 1, tab - 1) .. "\r\nContent-Length: " .. #body .. "\r\n\r\n" .. body
      end
      i = i + 1
   end
   if #requests == 0 then error("no bodies in " .. path) end
   total = #requests
   next_req = 0
   sent = 0
end

function request()
   next_req = next_req + 1
   if next_req > total then next_req = 1 end
   sent = sent + 1
   return requests[next_req]
end

function done(summary, latency, requests)
   local available, issued = 0, 0
   for _, t in ipairs(threads) do
      available = available + (t:get("total") or 0)
      issued = issued + (t:get("sent") or 0)
   end
   local secs = summary.duration / 1e6
   io.write(string.format(
      'WRK_RESULT {"requests":%d,"duration_s":%.3f,"rps":%.1f,"errors_connect":%d,"errors_read":%d,"errors_write":%d,"errors_status":%d,"errors_timeout":%d,"bodies":%d,"issued":%d,"wrapped":%s,"lat_p50_ms":%.3f,"lat_p99_ms":%.3f}\n',
      summary.requests, secs, summary.requests / secs,
      summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout,
      available, issued, tostring(issued > available),
      latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
