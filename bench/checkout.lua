-- checkout.lua: the two steps of a checkout, each request a new shopper's and a new Idempotency-Key.
--   BENCH_CHECKOUT_MODE=order: POST /api/v1/orders from the shopper's (one-line) cart;
--     BENCH_SHOPPERS lines are "<user id> <access token>".
--   BENCH_CHECKOUT_MODE=pay: POST /api/v1/payments for the shopper's pending order with the
--     test provider's success card; BENCH_SHOPPERS lines are "<access token> <order id>".
-- Each thread walks its own share of the lines, once: a shopper's cart or order serves one
-- request. Lines run out only when bench/run made too few (every later request then fails and
-- shows as non-2xx). BENCH_REF_PREFIX keeps the keys unique across runs.
local lib = dofile(os.getenv("BENCH_LUA_DIR") .. "/lib.lua")

local mode = lib.env("BENCH_CHECKOUT_MODE", "order")
local file = lib.env("BENCH_SHOPPERS", nil)
local nthreads = tonumber(lib.env("BENCH_WRK_THREADS", "1"))
local prefix = lib.env("BENCH_REF_PREFIX", "bench")
assert(mode == "order" or mode == "pay", "BENCH_CHECKOUT_MODE: order or pay")
assert(file, "BENCH_SHOPPERS is not set")

local address = '{"name":"Bench Shopper","line1":"1 Main Street","city":"Berlin","postal_code":"10115","country":"DE"}'
local card = '{"number":"4242 4242 4242 4242","exp_month":12,"exp_year":2031,"cvc":"123"}'

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"

local lines, n, i
local count = 0

function init(args)
   lines = {}
   local f = assert(io.open(file, "r"))
   for line in f:lines() do
      local a, b = line:match("^(%S+) (%S+)$")
      if a then lines[#lines + 1] = {a, b} end
   end
   f:close()
   n = #lines
   assert(n > 0, "no shoppers in " .. file)
   i = (tid or 1) - 1
end

function request()
   local line = lines[i % n + 1]
   i = i + nthreads
   count = count + 1
   local headers = {
      ["Content-Type"] = "application/json",
      ["Idempotency-Key"] = string.format("%s-%d-%d", prefix, tid or 0, count),
   }
   if mode == "order" then
      headers["Authorization"] = "Bearer " .. line[2]
      return wrk.format("POST", "/api/v1/orders", headers, '{"shipping_address":' .. address .. '}')
   end
   headers["Authorization"] = "Bearer " .. line[1]
   return wrk.format("POST", "/api/v1/payments", headers,
      string.format('{"order_id":%s,"card":%s}', line[2], card))
end
