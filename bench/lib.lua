-- lib.lua: what every bench/*.lua wrk script shares: thread numbers, environment knobs,
-- id lists, optional pacing, and the one "BENCH ..." summary line that bench/run parses.
local lib = {}

-- Each wrk thread gets its number (1..threads) as the global `tid`, for unique ids
-- and for splitting an id list between threads.
local made = 0
function setup(thread)
   made = made + 1
   thread:set("tid", made)
end

-- lib.env(NAME, DEFAULT): the environment variable, or DEFAULT when unset or empty.
function lib.env(name, default)
   local v = os.getenv(name)
   if v == nil or v == "" then return default end
   return v
end

-- lib.ids(PATH): the integers in PATH, one per line, as a list (an error when none).
function lib.ids(path)
   local list = {}
   local f = assert(io.open(path, "r"))
   for line in f:lines() do
      local n = tonumber(line)
      if n then list[#list + 1] = n end
   end
   f:close()
   assert(#list > 0, "no ids in " .. path)
   return list
end

-- BENCH_DELAY_MS: each connection waits this long before its next request, so a
-- scenario can offer a moderate load instead of as much as the server takes.
local delay_ms = tonumber(lib.env("BENCH_DELAY_MS", "0"))
if delay_ms > 0 then
   function delay() return delay_ms end
end

-- Times in milliseconds. non2xx counts answers with status >= 400 (wrk's own rule).
function done(summary, latency, requests)
   local e = summary.errors
   local secs = summary.duration / 1e6
   io.write(string.format(
      "BENCH requests=%d seconds=%.3f rps=%.1f ok_rps=%.1f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f non2xx=%d sockerr=%d timeouts=%d\n",
      summary.requests, secs, summary.requests / secs, (summary.requests - e.status) / secs,
      latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
      latency.max / 1000, e.status, e.connect + e.read + e.write, e.timeout))
end

return lib
