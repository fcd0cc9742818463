-- wrk script for bench_checkout.py: many tills sending at a given rate, as a chain's tills do
-- (each idle between customers), rather than as fast as the server answers.
--   wrk -t2 -c64 -d30s -s till_paced.lua http://127.0.0.1:8765 -- MODE KEY MEMBERS CARDS PRODUCTS RUN RATE
-- The requests are till_load.lua's; RATE is this wrk thread's requests per second. Each thread
-- sends them as a Poisson stream (exponential gaps around its schedule, whichever of its idle
-- connections is free), so the server meets bursts and lulls; a slot finding every connection
-- busy is dropped, and the requests/s printed tell how much was sent.

local here = debug.getinfo(1, "S").source:sub(2):match("(.*/)") or "./"
dofile(here .. "till_load.lua")

local ffi = require("ffi")
ffi.cdef [[
  typedef struct { long tv_sec; long tv_nsec; } till_timespec;
  int clock_gettime(int clock_id, till_timespec *tp);
]]
local clock = ffi.new("till_timespec")
local CLOCK_MONOTONIC = 1

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, clock)
  return tonumber(clock.tv_sec) * 1000 + tonumber(clock.tv_nsec) / 1e6
end

local gap_ms, next_at
local load_init = init

function init(args)
  load_init(args)
  gap_ms = 1000 / tonumber(args[7])
end

function delay()
  local now = now_ms()
  next_at = math.max(next_at or now, now) - math.log(1 - math.random()) * gap_ms
  return next_at - now
end
