-- Africa's Talking USSD load for wrk: 3-hop sessions (text "", "3", "3*1": main menu, loan status,
-- the tracking-code prompt), a random session id and a distinct caller per session.
--
--   wrk -t2 -c64 -d15s -s bench/ussd.lua http://127.0.0.1:PORT/ussd/africastalking -- TAG
--
-- TAG (two digits, 20..99) keeps callers of one wrk run apart from every other run on the same
-- database: a caller who dials again within the resume window would be offered to resume.
-- A session's next hop is sent only after GAP more requests of its thread, so that hop k has been
-- answered before hop k+1 leaves (wrk gives request() no connection of its own); finished hops and
-- new sessions interleave, so each thread's stream is about 1/3 of each hop.
-- done() prints one line starting with "BENCH " of key=value pairs for the runner to parse.

local GAP = 1024
local TEXTS = { "", "3", "3%2A1" }
local HEADERS = { ["Content-Type"] = "application/x-www-form-urlencoded" }

local threads = {}
local tag = "20"
local tno = tno or 0
local sent = 0
local sessions = 0
local queue = {}
local head, tail = 1, 0
-- Counted per thread, summed in done().
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
  math.randomseed(os.time() * 7919 + tno * 104729 + tonumber(tag))
end

local function new_session()
  sessions = sessions + 1
  return {
    id = string.format("%s%d-%08x%06x", tag, tno, math.random(0, 0x7fffffff), sessions % 0x1000000),
    msisdn = string.format("09%s%d%06d", tag, tno % 10, sessions % 1000000),
    hop = 1,
  }
end

function request()
  sent = sent + 1
  local s
  if head <= tail and queue[head].due <= sent then
    s = queue[head]
    queue[head] = nil
    head = head + 1
  else
    s = new_session()
  end
  local body = "sessionId=" .. s.id .. "&serviceCode=%2A4455%23&phoneNumber=" .. s.msisdn
    .. "&networkCode=43211&text=" .. TEXTS[s.hop]
  if s.hop < 3 then
    tail = tail + 1
    queue[tail] = { id = s.id, msisdn = s.msisdn, hop = s.hop + 1, due = sent + GAP }
  end
  return wrk.format("POST", nil, HEADERS, body)
end

function response(status, headers, body)
  local kind = body and body:sub(1, 4) or ""
  if status ~= 200 or (kind ~= "CON " and kind ~= "END ") then
    bad = bad + 1
    if sample == "" then
      sample = tostring(status) .. " " .. (body or ""):sub(1, 80):gsub("[%c ]", "_")
    end
  elseif kind == "END " then
    ends = ends + 1
  end
end

function done(summary, latency, requests)
  local b, e, smp = 0, 0, ""
  for _, t in ipairs(threads) do
    b = b + (t:get("bad") or 0)
    e = e + (t:get("ends") or 0)
    if smp == "" then smp = t:get("sample") or "" end
  end
  local er = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d bytes=%d connect=%d read=%d write=%d status=%d timeout=%d "
      .. "p50_us=%d p90_us=%d p99_us=%d max_us=%d mean_us=%.1f bad=%d ends=%d sample=%s\n",
    summary.requests, summary.duration, summary.bytes, er.connect, er.read, er.write, er.status,
    er.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, latency.mean, b, e, smp ~= "" and smp or "-"))
end
