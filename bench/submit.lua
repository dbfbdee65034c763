-- wrk script: POST the registration form with a distinct e-mail address every time.
-- One session cookie and its CSRF token (fetched by bench/run.py through a real GET of the form)
-- serve every request: Flask-WTF tokens are valid for the whole session, as in a browser tab.
local cookie = os.getenv("BENCH_COOKIE")
local csrf = os.getenv("BENCH_CSRF")
local meeting = os.getenv("BENCH_MEETING")
local run = os.getenv("BENCH_RUN")
local threads = 0
local counter = 0
local prefix = ""

local function urlencode(value)
  return (value:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function setup(thread)
  threads = threads + 1
  thread:set("thread_number", threads)
end

function init(args)
  math.randomseed(os.time() + thread_number)
  prefix = string.format("%s-%d-%d-%d", run, os.time(), thread_number, math.random(1, 1000000))
end

function request()
  counter = counter + 1
  local email = string.format("bench-%s-%d@commune.example", prefix, counter)
  local body = "csrf_token=" .. urlencode(csrf)
    .. "&first_name=Camille&last_name=Martin&email=" .. urlencode(email)
    .. "&organisation=Commune+de+Roubaix&mandate=maire&department=Nord"
    .. "&meetings=" .. urlencode(meeting) .. "&data_notice=y&website="
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = cookie,
  }, body)
end
