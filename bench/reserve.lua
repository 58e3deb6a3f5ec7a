-- reserve.lua: POST /internal/inventory/reservations, one unit of one product per order, each
-- with a new order_ref: BENCH_PRODUCT (one hot product) or a random id from the file BENCH_IDS.
-- BENCH_REF_PREFIX (bench/run sets a new one for every wrk run) keeps order_refs unique across runs.
local lib = dofile(os.getenv("BENCH_LUA_DIR") .. "/lib.lua")

wrk.method = "POST"
wrk.path = "/internal/inventory/reservations"
wrk.headers["Content-Type"] = "application/json"

local prefix = lib.env("BENCH_REF_PREFIX", "bench")
local ttl = tonumber(lib.env("BENCH_TTL", "60"))
local hot = tonumber(lib.env("BENCH_PRODUCT", ""))
local ids_file = lib.env("BENCH_IDS", nil)
local ids, n
local count = 0

function init(args)
   if not hot then
      ids = lib.ids(ids_file)
      n = #ids
   end
   math.randomseed(os.time() * 1000 + (tid or 0))
end

function request()
   count = count + 1
   local pid = hot or ids[math.random(n)]
   return wrk.format(nil, nil, nil, string.format(
      '{"order_ref":"%s-%d-%d","items":[{"product_id":%d,"quantity":1}],"ttl_seconds":%d}',
      prefix, tid or 0, count, pid, ttl))
end
