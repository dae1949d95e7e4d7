-- wrk script for bench/load.py: every connection walks its own way through a list of request paths,
-- and the run ends with one line of JSON (requests, errors, latency percentiles in microseconds).
--
--   wrk -t 2 -c 50 -d 15s -s bench/load.lua http://127.0.0.1:5131 -- paths.txt
--
-- LOAD_DELAY_MS in the environment makes each connection wait that long between its requests (a
-- client that thinks); unset or 0, every connection asks again as soon as it has its answer.

local paths = {}
local position = 0
local delay_ms = tonumber(os.getenv("LOAD_DELAY_MS") or "0") or 0
local started = 0

function setup(thread)
   -- runs in the main state: number the threads so that each starts somewhere else in the list
   thread:set("thread_number", started)
   started = started + 1
end

function init(args)
   for line in io.lines(args[1]) do
      if #line > 0 then
         paths[#paths + 1] = line
      end
   end
   position = (thread_number * 7919) % #paths
end

function request()
   position = position % #paths + 1
   return wrk.format("GET", paths[position])
end

if delay_ms > 0 then
   function delay()
      return delay_ms
   end
end

function done(summary, latency, requests)
   local errors = summary.errors
   io.write(string.format(
      'LOAD-RESULT {"requests": %d, "duration_us": %d, "bytes": %d, "connect": %d, "read": %d, ' ..
      '"write": %d, "status": %d, "timeout": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
      summary.requests, summary.duration, summary.bytes, errors.connect, errors.read, errors.write,
      errors.status, errors.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
      latency.max))
end
