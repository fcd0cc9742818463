-- wrk script for bench_checkout.py: a till posting 10-line baskets or identifying cards.
--   wrk -t2 -c8 -d30s -s till_load.lua http://127.0.0.1:8765 -- MODE KEY MEMBERS CARDS PRODUCTS RUN
-- MODE is "checkout" or "identify"; or, for issue 19's till cost, "offers:L" (baskets of PRODUCTS
-- lines, products 1..PRODUCTS, for members 1..L: those with a shopping list of PRODUCTS offers) or
-- "plain:L" (the same baskets for members L+1..MEMBERS: none of the list offers apply). Every basket has a receipt number of its own (run, thread,
-- counter), so each post is a first post, never a replay. Prints one JSON line of figures.

local mode, key, members, cards, products, run
local listed = 0
local counter = 0
local threads_made = 0
thread_no = 0 -- a global: set in each thread's own Lua state by setup()

local function ean13(body)
  local sum = 0
  for i = 1, 12 do
    local digit = tonumber(body:sub(i, i))
    sum = sum + digit * ((i % 2 == 0) and 3 or 1)
  end
  return body .. tostring((10 - sum % 10) % 10)
end

-- as clientele.barcodes.card_barcode: prefix 29, card sequence, 9-digit member number
local function card_barcode(customer_id, sequence)
  return ean13(string.format("29%d%09d", sequence, customer_id))
end

function setup(thread)
  threads_made = threads_made + 1
  thread:set("thread_no", threads_made)
end

function init(args)
  mode, key = args[1], args[2]
  members, cards, products, run = tonumber(args[3]), tonumber(args[4]), tonumber(args[5]), args[6]
  local kind, count = mode:match("^(%a+):(%d+)$")
  if kind then
    mode, listed = kind, tonumber(count)
  end
  math.randomseed(os.time() * 100 + thread_no)
  wrk.headers["X-API-Key"] = key
  wrk.headers["Content-Type"] = "application/json"
end

local function basket_body()
  counter = counter + 1
  local lines = {}
  local customer = math.random(1, members)
  if mode == "checkout" then
    for n = 1, 10 do
      lines[n] = string.format('{"line_no":%d,"product_id":%d,"quantity":"%d","unit_price":"%.2f"}',
        n, math.random(1, products), math.random(1, 3), math.random(50, 1500) / 100)
    end
  else -- "offers" or "plain": every product 1..products once
    customer = (mode == "offers") and math.random(1, listed) or math.random(listed + 1, members)
    for n = 1, products do
      lines[n] = string.format('{"line_no":%d,"product_id":%d,"quantity":"%d","unit_price":"%.2f"}',
        n, n, math.random(1, 3), math.random(50, 1500) / 100)
    end
  end
  return string.format(
    '{"store_id":1,"till_id":"W%s-%d","receipt_number":"%d","transacted_at":"%s","card":"%s","lines":[%s]}',
    run, thread_no, counter, os.date("!%Y-%m-%dT%H:%M:%S+00:00"), card_barcode(customer, 0),
    table.concat(lines, ","))
end

function request()
  if mode ~= "identify" then
    return wrk.format("POST", "/api/baskets", nil, basket_body())
  end
  local number = math.random(1, cards)
  local card = number <= members and card_barcode(number, 0) or card_barcode(number - members, 1)
  return wrk.format("GET", "/api/members/identify?card=" .. card)
end

function done(summary, latency, requests)
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.timeout
  io.write(string.format(
    '{"requests":%d,"seconds":%.3f,"p50_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f,"non_2xx":%d,"socket_errors":%d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1e3, latency:percentile(99) / 1e3,
    latency.max / 1e3, summary.errors.status, bad - summary.errors.status))
end
