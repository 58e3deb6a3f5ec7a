-- cart.lua: GET /api/v1/cart (BENCH_CART_MODE=get) or PUT /api/v1/cart/items/{id} {"quantity":1..5}
-- (BENCH_CART_MODE=put), each request as a random guest cart of the file BENCH_TOKENS (one
-- X-Cart-Token per line); PUTs set a random product of the file BENCH_IDS.
local lib = dofile(os.getenv("BENCH_LUA_DIR") .. "/lib.lua")

local mode = lib.env("BENCH_CART_MODE", "get")
local tokens_file = lib.env("BENCH_TOKENS", nil)
local ids_file = lib.env("BENCH_IDS", nil)
local tokens, ids

function init(args)
   tokens = {}
   local f = assert(io.open(tokens_file, "r"))
   for line in f:lines() do
      if line ~= "" then tokens[#tokens + 1] = line end
   end
   f:close()
   assert(#tokens > 0, "no tokens in " .. tokens_file)
   if mode == "put" then ids = lib.ids(ids_file) end
   math.randomseed(os.time() * 1000 + (tid or 0))
end

function request()
   local token = tokens[math.random(#tokens)]
   if mode == "put" then
      return wrk.format("PUT", "/api/v1/cart/items/" .. ids[math.random(#ids)],
         { ["X-Cart-Token"] = token, ["Content-Type"] = "application/json" },
         string.format('{"quantity":%d}', math.random(1, 5)))
   end
   return wrk.format("GET", "/api/v1/cart", { ["X-Cart-Token"] = token })
end
