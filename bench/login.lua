-- login.lua: POST /api/v1/auth/login with BENCH_EMAIL and BENCH_PASSWORD (the same account each time).
local lib = dofile(os.getenv("BENCH_LUA_DIR") .. "/lib.lua")

wrk.method = "POST"
wrk.path = "/api/v1/auth/login"
wrk.headers["Content-Type"] = "application/json"
-- The runner makes the e-mail and password from letters, digits, '@', '.' and '-' only,
-- so they need no JSON escaping.
wrk.body = string.format('{"email":"%s","password":"%s"}', lib.env("BENCH_EMAIL", ""), lib.env("BENCH_PASSWORD", ""))
