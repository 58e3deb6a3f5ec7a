-- get.lua: GET BENCH_PATH; "{id}" in it is replaced by ids from the file BENCH_IDS, at random
-- or, with BENCH_ORDER=seq, each thread walking its share in order (to fill a cache).
-- BENCH_TOKEN adds "Authorization: Bearer <token>".
local lib = dofile(os.getenv("BENCH_LUA_DIR") .. "/lib.lua")

wrk.path = lib.env("BENCH_PATH", wrk.path)
local token = lib.env("BENCH_TOKEN", nil)
if token then wrk.headers["Authorization"] = "Bearer " .. token end

local ids_file = lib.env("BENCH_IDS", nil)
if ids_file then
   local seq = lib.env("BENCH_ORDER", "random") == "seq"
   local nthreads = tonumber(lib.env("BENCH_WRK_THREADS", "1"))
   local ids, n, i
   local pre, post = wrk.path:match("^(.-){id}(.*)$")
   assert(pre, "BENCH_PATH has no {id}")

   function init(args)
      ids = lib.ids(ids_file)
      n = #ids
      i = (tid or 1) - 1
      math.randomseed(os.time() * 1000 + (tid or 0))
   end

   -- Only a script with request() is "dynamic" in wrk; the fixed-path case stays static.
   function request()
      local id
      if seq then
         id = ids[i % n + 1]
         i = i + nthreads
      else
         id = ids[math.random(n)]
      end
      return wrk.format(nil, pre .. id .. post)
   end
end
