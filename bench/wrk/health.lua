-- wrk script for bench/run.sh: GET /health, the HTTP floor of a server (no body, no store).
-- Prints the same WRK_RESULT line as webhook.lua, so run.sh reads both the same way.

wrk.method = "GET"
wrk.path = "/health"
wrk.headers["User-Agent"] = "line-oa-bench"

function done(summary, latency, requests)
   local secs = summary.duration / 1e6
   io.write(string.format(
      'WRK_RESULT {"requests":%d,"duration_s":%.3f,"rps":%.1f,"errors_connect":%d,"errors_read":%d,"errors_write":%d,"errors_status":%d,"errors_timeout":%d,"bodies":0,"issued":%d,"wrapped":false,"lat_p50_ms":%.3f,"lat_p99_ms":%.3f}\n',
      summary.requests, secs, summary.requests / secs,
      summary.errors.connect, summary.errors.read, summary.errors.write, summary.errors.status, summary.errors.timeout,
      summary.requests, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
