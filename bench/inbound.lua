-- Kavenegar inbound SMS callbacks for wrk: each request a new message (its own `messageid`) from
-- one of many numbers, asking a loan's status by tracking code ("وضعیت 12345678"), as citizens
-- text the line. Every message is taken once, answered by the keyword service and its reply
-- queued for the dispatcher.
--
--   wrk -t2 -c64 -d15s -s bench/inbound.lua http://127.0.0.1:PORT/sms/kavenegar/inbound -- TAG
--
-- TAG (two digits) keeps message ids and numbers of one run apart from every other run on the
-- same database. done() prints the same "BENCH " line as bench/ussd.lua.

local HEADERS = { ["Content-Type"] = "application/x-www-form-urlencoded" }
-- "وضعیت 12345678", form-encoded.
local MESSAGE = "%D9%88%D8%B6%D8%B9%DB%8C%D8%AA+12345678"

local threads = {}
local tag = "20"
local tno = tno or 0
local sent = 0
bad = 0
ends = 0
sample = ""

function setup(thread)
  table.insert(threads, thread)
  thread:set("tno", #threads)
end

function init(args)
  tag = args[1] or "20"
  tno = _G.tno or 0
end

function request()
  sent = sent + 1
  local body = "from=09" .. tag .. tostring(tno % 10) .. string.format("%06d", sent % 1000000)
    .. "&to=10004346&message=" .. MESSAGE
    .. "&messageid=" .. tag .. tostring(tno) .. string.format("%09d", sent)
  return wrk.format("POST", nil, HEADERS, body)
end

function response(status, headers, body)
  if status ~= 200 or not (body or ""):find('"accepted"', 1, true) then
    bad = bad + 1
    if sample == "" then
      sample = tostring(status) .. " " .. (body or ""):sub(1, 80):gsub("[%c ]", "_")
    end
  end
end

function done(summary, latency, requests)
  local b, smp = 0, ""
  for _, t in ipairs(threads) do
    b = b + (t:get("bad") or 0)
    if smp == "" then smp = t:get("sample") or "" end
  end
  local er = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d bytes=%d connect=%d read=%d write=%d status=%d timeout=%d "
      .. "p50_us=%d p90_us=%d p99_us=%d max_us=%d mean_us=%.1f bad=%d ends=0 sample=%s\n",
    summary.requests, summary.duration, summary.bytes, er.connect, er.read, er.write, er.status,
    er.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, b, smp ~= "" and smp or "-"))
end
