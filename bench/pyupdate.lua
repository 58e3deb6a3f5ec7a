-- pyupdate.lua: POST /reservations of the Python reference stack (bench/pyref): one unit of
-- product BENCH_PRODUCT, one conditional UPDATE of its stock.
local lib = dofile(os.getenv("BENCH_LUA_DIR") .. "/lib.lua")

wrk.method = "POST"
wrk.path = "/reservations"
wrk.headers["Content-Type"] = "application/json"
wrk.body = string.format('{"product_id":%d,"quantity":1}', tonumber(lib.env("BENCH_PRODUCT", "1")))
